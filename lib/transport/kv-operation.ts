/**
 * The seam between the public KV methods and the ways a request reaches
 * them: kv-service.ts builds one KvOperation per RPC (its codecs, edge
 * validation, handler call and error reporting), and both the unary method
 * and the Session stream (session-service.ts) run that same object.
 */

/** One RPC as the server runs it, however the request arrived (a unary call or a Session entry). */
export interface KvOperation {
  /** Full gRPC path, e.g. /dynamo.v1.KV/Get (named in logs). */
  readonly path: string;
  /** Request bytes -> message. Never throws: undecodable bytes make `run` reject with INVALID_ARGUMENT. */
  decode(bytes: Buffer): unknown;
  /** Response message -> bytes. */
  encode(res: unknown): Buffer;
  /**
   * Check and serve a decoded request with `timeoutMs` left (already capped
   * by the node default; <= 0 means the deadline has passed — refused without
   * calling the handler). Never throws: every failure is a rejection.
   */
  run(msg: unknown, timeoutMs: number): Promise<unknown>;
  /** Log a rejection that is not a DynamoError (a bug: it is answered INTERNAL). */
  report(e: unknown): void;
}
