/**
 * What a node process does with an error nobody handled: log it with its
 * stack and exit non-zero, so the supervisor (Kubernetes, systemd) restarts a
 * process in a known state. Continuing after an unhandled rejection or an
 * uncaught exception would serve from state half-updated by whatever failed;
 * restarting costs nothing in safety (a restart mints a new actor epoch and
 * replicas converge by read repair).
 */
import type { Logger } from '../runtime/index.ts';

/** The slice of `process` the handlers need (injected so tests can drive them). */
export interface FatalProcess {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  on(event: 'uncaughtException', listener: (error: Error) => void): unknown;
  exit(code: number): void;
}

/** Exit code of a process stopped by an unhandled error (70 = EX_SOFTWARE, an internal software error). */
export const FATAL_EXIT_CODE = 70;

function describe(e: unknown): { error: string; stack: string | undefined } {
  if (e instanceof Error) return { error: `${e.name}: ${e.message}`, stack: e.stack };
  return { error: String(e), stack: undefined };
}

/**
 * Install the handlers on `proc`: each logs one `fatal` line at error level
 * (the kind, the error, its stack and `context`) and exits with FATAL_EXIT_CODE.
 */
export function installFatalHandlers(proc: FatalProcess, logger: Logger, context: Record<string, unknown> = {}): void {
  let exiting = false;
  const die = (kind: string, e: unknown): void => {
    if (exiting) return;
    exiting = true;
    logger.error('fatal: the process is in an unknown state and exits so its supervisor restarts it', { kind, ...describe(e), ...context });
    proc.exit(FATAL_EXIT_CODE);
  };
  proc.on('unhandledRejection', (reason) => die('unhandled rejection', reason));
  proc.on('uncaughtException', (error) => die('uncaught exception', error));
}
