/**
 * The Logger port (lib/runtime/logger.ts) over pino, for the node process:
 * one JSON object per line on stderr, written synchronously (a fatal line is
 * on disk before the process exits; a node logs no line per request, so the
 * cost is irrelevant). Every line carries `node` (the node id), `module`
 * and the fields of the logger it came from:
 *
 *   {"level":"info","time":"2026-11-24T10:00:00.000Z","node":"n1","module":"membership","msg":"member up","member":"n2"}
 *
 * Levels: `--log-level` (error, warn, info, debug, silent) applies to every
 * module; a module named in DYNAMO_TRACE (or every module for `*`) logs at
 * trace level — everything, its trace lines included — whatever
 * `--log-level` says, as LineLogger does. The simulator keeps LineLogger
 * (simulated time stamps); only this file imports pino.
 */
import { pino, type DestinationStream, type Logger as Pino } from 'pino';
import type { LogFields, LogLevel, Logger } from '../runtime/index.ts';

export interface PinoLoggerOptions {
  readonly nodeId: string;
  readonly level: LogLevel;
  /** Module names that log at trace level (DYNAMO_TRACE); `*` for all. */
  readonly trace?: ReadonlySet<string>;
  /** Where lines go; default stderr, synchronously. */
  readonly destination?: DestinationStream;
}

/** An Error as its message (its stack, where wanted, is passed as a field of its own); other values as they are. */
function errorField(v: unknown): unknown {
  return v instanceof Error ? `${v.name === 'Error' ? '' : `${v.name}: `}${v.message}` : v;
}

class PinoLogger implements Logger {
  readonly #root: Pino;
  readonly #opts: PinoLoggerOptions;
  readonly #fields: LogFields;
  readonly #log: Pino;
  readonly #tracing: boolean;

  constructor(root: Pino, opts: PinoLoggerOptions, module: string, fields: LogFields) {
    this.#root = root;
    this.#opts = opts;
    this.#fields = fields;
    this.#tracing = opts.trace !== undefined && (opts.trace.has(module) || opts.trace.has('*'));
    // Children come from the root, so `module` and inherited fields appear once per line.
    this.#log = root.child({ module, ...fields }, { level: this.#tracing ? 'trace' : opts.level });
  }

  error(msg: string, fields?: LogFields): void {
    this.#log.error(fields ?? {}, msg);
  }
  warn(msg: string, fields?: LogFields): void {
    this.#log.warn(fields ?? {}, msg);
  }
  info(msg: string, fields?: LogFields): void {
    this.#log.info(fields ?? {}, msg);
  }
  debug(msg: string, fields?: LogFields): void {
    this.#log.debug(fields ?? {}, msg);
  }
  trace(msg: string, fields?: LogFields): void {
    if (this.#tracing) this.#log.trace(fields ?? {}, msg);
  }
  child(module: string, fields?: LogFields): Logger {
    return new PinoLogger(this.#root, this.#opts, module, { ...this.#fields, ...fields });
  }
}

/** The node's root logger (module `node`); its children name their module. */
export function pinoLogger(opts: PinoLoggerOptions): Logger {
  const root = pino(
    {
      level: 'trace',
      base: { node: opts.nodeId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { error: errorField },
    },
    opts.destination ?? pino.destination({ dest: 2, sync: true }),
  );
  return new PinoLogger(root, opts, 'node', {});
}
