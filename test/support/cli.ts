/**
 * Running the built `dynamo` CLI from tests the way a user does — plain
 * `node` on dist/cmd/dynamo.js, no TypeScript loader — and reading what it
 * printed: exit code, stdout, stderr, one-line errors, JSON, table columns.
 * Runs are asynchronous, so a fake node served by the test process itself
 * keeps answering while the CLI talks to it.
 */
import { expect } from 'chai';
import { execFile, type ChildProcess } from 'node:child_process';
import { builtCli } from './build.ts';

/** What one run printed and how it exited. */
export interface Run {
  code: number;
  stdout: string;
  raw: Buffer;
  stderr: string;
}

/** Runs not finished yet (killStragglers ends them). */
const running = new Set<ChildProcess>();

/**
 * Run `dynamo args...` with `env` on top of this process's environment
 * (without its DYNAMO_ENDPOINT, so a test sees only the endpoints it names).
 */
export function dynamo(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const bin = builtCli();
  return new Promise((resolve) => {
    // Plain node: no loader flags, none inherited through NODE_OPTIONS either.
    const childEnv: Record<string, string | undefined> = { ...process.env, NODE_OPTIONS: '', ...env };
    if (env['DYNAMO_ENDPOINT'] === undefined) delete childEnv['DYNAMO_ENDPOINT'];
    const child = execFile(process.execPath, [bin, ...args], { env: childEnv, timeout: 30_000, encoding: 'buffer' }, (err, stdout, stderr) => {
      running.delete(child);
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: stdout.toString('utf8'), raw: stdout, stderr: stderr.toString('utf8') });
    });
    running.add(child);
  });
}

/** Kill (by pid) every run still going: for after hooks, so a failed test leaves no process behind. */
export function killStragglers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Run `dynamo` once per argument list, at most four at a time (the machine is shared); results in order. */
export async function dynamoAll(argLists: string[][]): Promise<Run[]> {
  const runs: Run[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < argLists.length) {
      const i = next++;
      runs[i] = await dynamo(argLists[i]!);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return runs;
}

/** One readable line on stderr, no stack trace, and the expected exit code. */
export function expectOneLineError(run: Run, code: number, pattern: RegExp): void {
  expect(run.code, run.stderr).to.equal(code);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).to.have.length(1);
  // The whole line as the message: chai truncates the actual value it quotes.
  expect(lines[0], run.stderr).to.match(/^dynamo: /);
  expect(lines[0], run.stderr).to.match(pattern);
  expect(run.stderr).to.not.match(/\n\s+at /);
}

/** stdout of a --json run: exactly one JSON line. */
export function jsonOf(run: Run): any {
  const lines = run.stdout.trim().split('\n');
  expect(lines, run.stdout).to.have.length(1);
  return JSON.parse(lines[0]!);
}

/** Start offsets of each column in a table line (runs of 2+ spaces separate columns). */
export function columnStarts(line: string): number[] {
  const starts = [0];
  for (const m of line.matchAll(/ {2,}(?=\S)/g)) starts.push(m.index! + m[0].length);
  return starts;
}
