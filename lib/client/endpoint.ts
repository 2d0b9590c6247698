/**
 * One node the client talks to: a long-lived grpc-js channel created once
 * and reused by every request (never per request). Credentials are a
 * parameter so TLS can be plugged in without touching the call path.
 */
import * as grpc from '@grpc/grpc-js';
import type { UnaryMethod } from './schema.ts';

/** Channel settings shared by every endpoint. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // Detect a silently dead peer (pod gone, cable cut) instead of waiting for TCP.
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
};

export class Endpoint {
  readonly address: string;
  readonly #client: grpc.Client;

  constructor(address: string, credentials: grpc.ChannelCredentials) {
    this.address = address;
    this.#client = new grpc.Client(address, credentials, CHANNEL_OPTIONS);
  }

  /**
   * Worth trying first: connected, or idle (connects on demand). An endpoint
   * that is connecting or whose last attempt failed is tried only after the others.
   */
  preferred(): boolean {
    const state = this.#client.getChannel().getConnectivityState(false);
    return state === grpc.connectivityState.READY || state === grpc.connectivityState.IDLE;
  }

  /** One unary call; rejects with the grpc-js ServiceError as is (the caller classifies it). */
  call<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, deadlineMs: number): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.serialize,
        method.deserialize,
        req,
        { deadline: deadlineMs },
        (error: grpc.ServiceError | null, response?: Res) => {
          if (error) reject(error);
          else resolve(response as Res);
        },
      );
    });
  }

  close(): void {
    this.#client.close();
  }
}
