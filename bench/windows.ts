/**
 * Summary of a measurement taken as consecutive windows of equal length
 * (bench:scale `--windows`): an LSM engine's compactions come in bursts
 * (a memtable flush sets off a cascade lasting tens of seconds), so one
 * short window can land inside a burst or between two. The mean is the
 * throughput over the whole measurement; min and max show the swing.
 */
export interface WindowSummary {
  readonly mean: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** `rates`: ops/s of each window, in order; windows are of equal length, so the mean of the rates is the overall rate. */
export function summarizeWindows(rates: readonly number[]): WindowSummary {
  if (rates.length === 0) throw new Error('no windows to summarize');
  const sorted = [...rates].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { mean: rates.reduce((a, b) => a + b, 0) / rates.length, median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}
