/**
 * How the CLI prints: tables whose columns fit their content, values that
 * survive JSON whatever their bytes, and failures as one line (plus a JSON
 * object on stdout with --json).
 */
import { DynamoError } from '../../lib/runtime/index.ts';

/** Rows under a header, each column as wide as its widest cell, two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Values for JSON output: UTF-8 text when every value is valid UTF-8,
 * otherwise every value in base64 — `encoding` says which.
 */
export function jsonValues(values: readonly Uint8Array[]): { encoding: 'utf8' | 'base64'; values: string[] } {
  try {
    return { encoding: 'utf8', values: values.map((v) => strictUtf8.decode(v)) };
  } catch {
    return { encoding: 'base64', values: values.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')) };
  }
}

/** Bytes as base64 (contexts). */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** One line for a failure: its message and stable code. */
export function errorLine(e: unknown): string {
  if (e instanceof DynamoError) return `${e.message} [${e.code}]`;
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * A failure as JSON (stdout with --json): `message` is the line printed on
 * stderr without `dynamo: `; `maybeApplied` whether a failed write may have
 * been stored anyway.
 */
export function errorJson(e: unknown, exitCode: number, message: string, maybeApplied: boolean): string {
  const code = e instanceof DynamoError ? e.code : exitCode === 2 ? 'USAGE' : 'ERROR';
  return JSON.stringify({ error: { code, message, maybeApplied, exitCode } }) + '\n';
}
