/**
 * How `dynamo decommission` shows its progress while it waits: a progress
 * bar (cli-progress, loaded only here) when the output is a terminal, one
 * plain line per change otherwise (logs, pipes, CI), and nothing with
 * --json (stdout then carries only the result object).
 */
import type { HandOff } from './decommission.ts';

/** Receives the hand-over after every poll; stop() before anything else is printed. */
export interface ProgressDisplay {
  update(handOff: HandOff): void;
  stop(): void;
}

/** The display for `stream` (a terminal gets the bar); `quiet` shows nothing. */
export async function progressDisplay(nodeId: string, stream: NodeJS.WriteStream, quiet: boolean): Promise<ProgressDisplay> {
  if (quiet) return { update: () => {}, stop: () => {} };
  if (!stream.isTTY) {
    let last = '';
    return {
      update(h) {
        // The final "has left" is the command's own last line.
        const line = h.describe();
        if (line === last || h.phase.kind === 'left') return;
        last = line;
        stream.write(`${line}\n`);
      },
      stop: () => {},
    };
  }
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({
    format: `${nodeId} [{bar}] {value}/{total} partitions handed over | {phase}`,
    stream,
    emptyOnZero: true,
    barsize: 30,
  }, cliProgress.Presets.shades_classic);
  bar.start(0, 0, { phase: 'decommission accepted' });
  return {
    update(h) {
      const p = h.progress();
      bar.setTotal(p.total);
      bar.update(p.done, { phase: h.phaseText() });
    },
    stop: () => bar.stop(),
  };
}
