/**
 * How `dynamo decommission` and `dynamo repair` show their progress while
 * they wait: a progress bar (cli-progress, loaded only here) when the output
 * is a terminal, one plain line per change otherwise (logs, pipes, CI), and
 * nothing with --json (stdout then carries only the result object).
 */
import type { HandOff } from './decommission.ts';
import type { RepairWatch } from './repair.ts';

/** Receives the progress after every poll; stop() before anything else is printed. */
export interface ProgressDisplay<T> {
  update(progress: T): void;
  stop(): void;
}

/** What a bar shows of a task's progress `T`. */
interface BarSpec<T> {
  /** cli-progress format; {bar}, {value}, {total} and {phase} are filled in. */
  readonly format: string;
  readonly initialPhase: string;
  /** Done and total units, and the phase in a few words. */
  counts(progress: T): { done: number; total: number; phase: string };
  /** The plain line for a non-terminal. */
  line(progress: T): string;
  /** The command prints its own last line: the display leaves this state out. */
  final(progress: T): boolean;
}

async function display<T>(stream: NodeJS.WriteStream, quiet: boolean, spec: BarSpec<T>): Promise<ProgressDisplay<T>> {
  if (quiet) return { update: () => {}, stop: () => {} };
  if (!stream.isTTY) {
    let last = '';
    return {
      update(p) {
        const line = spec.line(p);
        if (line === last || spec.final(p)) return;
        last = line;
        stream.write(`${line}\n`);
      },
      stop: () => {},
    };
  }
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({ format: spec.format, stream, emptyOnZero: true, barsize: 30 }, cliProgress.Presets.shades_classic);
  bar.start(0, 0, { phase: spec.initialPhase });
  return {
    update(p) {
      const c = spec.counts(p);
      bar.setTotal(c.total);
      bar.update(c.done, { phase: c.phase });
    },
    stop: () => bar.stop(),
  };
}

/** The decommission display for `stream` (a terminal gets the bar); `quiet` shows nothing. */
export function progressDisplay(nodeId: string, stream: NodeJS.WriteStream, quiet: boolean): Promise<ProgressDisplay<HandOff>> {
  return display<HandOff>(stream, quiet, {
    format: `${nodeId} [{bar}] {value}/{total} partitions handed over | {phase}`,
    initialPhase: 'decommission accepted',
    counts(h) {
      const p = h.progress();
      return { done: p.done, total: p.total, phase: h.phaseText() };
    },
    line: (h) => h.describe(),
    // The final "has left" is the command's own last line.
    final: (h) => h.phase.kind === 'left',
  });
}

/** The repair display: partitions compared so far, and keys repaired. */
export function repairProgressDisplay(nodeId: string, stream: NodeJS.WriteStream, quiet: boolean): Promise<ProgressDisplay<RepairWatch>> {
  return display<RepairWatch>(stream, quiet, {
    format: `${nodeId} repair [{bar}] {value}/{total} partitions | {phase}`,
    initialPhase: 'repair started',
    counts: (w) => ({ done: w.repair.partitionsDone, total: w.repair.partitionsTotal, phase: w.phaseText() }),
    line: (w) => w.describe(),
    // The summary is the command's own last line.
    final: (w) => w.repair.state !== 'running',
  });
}
