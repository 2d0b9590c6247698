/**
 * A raw KV/Session client for transport tests, built from kv.proto with
 * protobufjs's reflection codec (not the hand-written session codec, so the
 * wire format is checked too). Frames are sent exactly as given.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { KV_PROTO } from '../../../lib/transport/proto-files.ts';

const root = new protobuf.Root().loadSync(KV_PROTO);
export const SessionRequests = root.lookupType('dynamo.v1.SessionRequests');
export const SessionResponses = root.lookupType('dynamo.v1.SessionResponses');

/** A SessionRequest as protobufjs's fromObject takes it (camelCase). */
export interface RawRequest {
  id: number;
  timeoutMs?: number;
  get?: object;
  put?: object;
  delete?: object;
}

/** A SessionResponse after toObject (bytes as Buffer, defaults left out, `result` names the oneof member). */
export interface RawResponse {
  id?: number;
  result?: 'get' | 'put' | 'delete' | 'error';
  get?: { values?: Buffer[]; context?: Buffer };
  put?: { context?: Buffer };
  delete?: object;
  error?: { grpcCode?: number; message?: string; dynamoCode?: string; answered?: number; required?: number; maybeApplied?: boolean };
}

/** SessionRequests bytes for `requests`. */
export function frame(requests: RawRequest[]): Buffer {
  return SessionRequests.encode(SessionRequests.fromObject({ requests })).finish() as Buffer;
}

/** One open Session stream: what it received, and how it ended. */
export class RawSession {
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  readonly responses: RawResponse[] = [];
  /** Response messages received (frames). */
  frames = 0;
  /** Resolves with the stream's final status. */
  readonly status: Promise<grpc.StatusObject>;
  /** Resolves once the node has sent the stream's headers. */
  readonly accepted: Promise<void>;
  #waiters: { n: number; resolve: () => void }[] = [];

  constructor(client: grpc.Client) {
    const pass = (b: Buffer): Buffer => b;
    this.call = client.makeBidiStreamRequest<Buffer, Buffer>('/dynamo.v1.KV/Session', pass, pass);
    this.accepted = new Promise((resolve) => this.call.once('metadata', () => resolve()));
    this.status = new Promise((resolve) => this.call.on('status', resolve));
    this.call.on('error', () => {});
    this.call.on('data', (bytes: Buffer) => {
      this.frames++;
      const msg = SessionResponses.toObject(SessionResponses.decode(bytes), { oneofs: true, longs: Number }) as { responses?: RawResponse[] };
      this.responses.push(...(msg.responses ?? []));
      this.#waiters = this.#waiters.filter((w) => {
        if (this.responses.length < w.n) return true;
        w.resolve();
        return false;
      });
    });
  }

  /** Send requests as one frame (or raw bytes as they are). */
  send(requests: RawRequest[] | Buffer): void {
    this.call.write(Buffer.isBuffer(requests) ? requests : frame(requests));
  }

  /** Resolves once `n` responses in total have arrived. */
  received(n: number): Promise<void> {
    if (this.responses.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** The response to request `id` (fails the test if there is none or several). */
  response(id: number): RawResponse {
    const found = this.responses.filter((r) => (r.id ?? 0) === id);
    if (found.length !== 1) throw new Error(`expected one response with id ${id}, got ${found.length}`);
    return found[0]!;
  }
}

const OP_FIELD = { Get: 3, Put: 4, Delete: 5 } as const;

/** One SessionRequests entry whose op body is `body` as raw bytes (to send bodies that are not valid messages). */
export function rawEntry(id: number, method: keyof typeof OP_FIELD, body: Buffer): Buffer {
  const entry = protobuf.Writer.create().uint32(8).uint32(id).uint32((OP_FIELD[method] << 3) | 2).bytes(body).finish();
  return protobuf.Writer.create().uint32(10).bytes(entry).finish() as Buffer;
}
