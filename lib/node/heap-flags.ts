/**
 * The V8 heap settings a node process runs with, in one place: the local
 * cluster runner passes them to every node it spawns, and the CLI's shebang
 * and the container's entry point carry the same (the deploy and package
 * tests check that they agree). Node.js refuses them in NODE_OPTIONS and they
 * cannot be set once the process runs, so they must be on its command line.
 *
 * Why: a node's JavaScript heap is small (about 20 MB at rest) while the
 * values it moves live outside it, in Buffers. V8 starts a full
 * mark-compact when the old generation's room left falls below the young
 * generation's capacity, and with a 20 MB heap that room is only a few tens
 * of MB, so at 64 KiB values a node ran about five full collections a second
 * that freed almost nothing on the heap: a third of its CPU went to
 * garbage collection (perf, stop 29). A floor of 256 MB under the old
 * generation's first limit leaves room for that churn; V8 still collects
 * when Buffers outside the heap grow by 64 MB, and a node with a large live
 * heap (many keys) gets a larger limit from V8's own sizing anyway. It costs
 * no memory up front: the limit is when to collect, not what is reserved.
 */
export const NODE_HEAP_FLAGS: readonly string[] = ['--initial-old-space-size=256'];
