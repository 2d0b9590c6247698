/**
 * Logging as a port: message plus structured fields, child loggers per module.
 * Levels error > warn > info > debug are chosen by `--log-level`; verbose
 * `trace` categories are enabled by name, whatever the level
 * (DYNAMO_TRACE=replication,transport). What goes where: info is for what an
 * operator follows (start and stop, membership changes, partition handoffs,
 * repairs), never one line per client request; debug is for diagnosing one
 * node; trace for following one module's messages. The node process writes
 * through pino (lib/node/pino-logger.ts); the simulator through LineLogger,
 * stamped with simulated time so transcripts stay byte-stable.
 */

export type LogFields = Record<string, unknown>;

export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  /** Diagnostics, off unless the level is debug. */
  debug(msg: string, fields?: LogFields): void;
  /** Verbose, off unless this logger's module is named in the trace set. */
  trace(msg: string, fields?: LogFields): void;
  /** A logger whose lines carry `module` and the given fields. */
  child(module: string, fields?: LogFields): Logger;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'silent';
/** Every level, most severe first (config validation and help text). */
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'silent'];
const rank: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

export interface LineLoggerOptions {
  level?: LogLevel;
  /** Module names whose trace lines are written; `*` enables all. */
  trace?: ReadonlySet<string>;
  /** Where lines go (one JSON line each). */
  write: (line: string) => void;
  /** Timestamp source, so simulated runs stamp sim time and stay byte-stable. */
  nowMs: () => number;
}

/** Writes one JSON line per entry; the real node writes to stderr, the simulator to memory. */
export class LineLogger implements Logger {
  readonly #opts: Required<LineLoggerOptions>;
  readonly #module: string;
  readonly #fields: LogFields;
  constructor(opts: LineLoggerOptions, module = 'node', fields: LogFields = {}) {
    this.#opts = { level: 'info', trace: new Set(), ...opts };
    this.#module = module;
    this.#fields = fields;
  }
  #emit(level: string, msg: string, fields?: LogFields): void {
    const entry = { t: this.#opts.nowMs(), level, module: this.#module, msg, ...this.#fields, ...fields };
    this.#opts.write(JSON.stringify(entry, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Error ? v.message : v)));
  }
  error(msg: string, fields?: LogFields): void {
    if (rank[this.#opts.level] >= 1) this.#emit('error', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    if (rank[this.#opts.level] >= 2) this.#emit('warn', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    if (rank[this.#opts.level] >= 3) this.#emit('info', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    if (rank[this.#opts.level] >= 4) this.#emit('debug', msg, fields);
  }
  trace(msg: string, fields?: LogFields): void {
    if (this.#opts.trace.has(this.#module) || this.#opts.trace.has('*')) this.#emit('trace', msg, fields);
  }
  child(module: string, fields?: LogFields): Logger {
    return new LineLogger(this.#opts, module, { ...this.#fields, ...fields });
  }
}

/** Discards everything; for tests that do not look at logs. */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  trace() {},
  child() {
    return silentLogger;
  },
};

/** Parse DYNAMO_TRACE ("replication,transport" or "*"). */
export function parseTraceSet(value: string | undefined): Set<string> {
  return new Set((value ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}
