/** A fake KvHandler that records the commands the gRPC edge hands it. */
import type { DeleteCommand, GetCommand, KvHandler, PutCommand } from '../../../lib/protocol/index.ts';

/** One command the fake KvHandler received. */
export type Seen = { op: 'get'; cmd: GetCommand } | { op: 'put'; cmd: PutCommand } | { op: 'delete'; cmd: DeleteCommand };

/** A KvHandler that records commands and answers from `behave` (default: a fixed result). */
export function recordingKv(behave: (s: Seen) => Promise<unknown> | unknown = () => undefined): { kv: KvHandler; seen: Seen[] } {
  const seen: Seen[] = [];
  const run = async (s: Seen, fallback: unknown): Promise<never> => {
    seen.push(s);
    return ((await behave(s)) ?? fallback) as never;
  };
  return {
    seen,
    kv: {
      get: (cmd) => run({ op: 'get', cmd }, { values: [Buffer.from('v1'), Buffer.from('v2')], context: Buffer.from([1, 2, 3]) }),
      put: (cmd) => run({ op: 'put', cmd }, { context: Buffer.from([4, 5]) }),
      delete: (cmd) => run({ op: 'delete', cmd }, { context: Buffer.from([6]) }),
    },
  };
}
