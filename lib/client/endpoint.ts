/**
 * One node the client talks to: a long-lived grpc-js channel created once
 * and reused by every request (never per request), and on it — with the
 * 'session' protocol — one pipelined Session stream carrying the KV
 * requests. Credentials are a parameter so TLS can be plugged in without
 * touching the call path.
 */
import * as grpc from '@grpc/grpc-js';
import type { Result, Time } from '../runtime/index.ts';
import { DynamoError, err, ok } from '../runtime/index.ts';
import { MESSAGE_BYTES_MAX } from '../transport/index.ts';
import { sessionFailure, unaryFailure, type Failure } from './call-errors.ts';
import type { UnaryMethod } from './schema.ts';
import { Session } from './session.ts';

/** How KV requests travel: pipelined on one Session stream per endpoint, or one unary call each. */
export type Protocol = 'session' | 'unary';

/** Channel settings shared by every endpoint. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // Detect a silently dead peer (pod gone, cable cut) instead of waiting for TCP.
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  // A Session message may hold a large Get response plus up to 1 MiB of others.
  'grpc.max_receive_message_length': MESSAGE_BYTES_MAX,
  // A restarted node is found again quickly (grpc-js would wait up to 120 s).
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

/** Session settings: the in-flight bound matches the node's default, so the node never has to refuse. */
const SESSION_INFLIGHT_MAX = 10_000;
const SESSION_BACKOFF_MS_MIN = 100;
const SESSION_BACKOFF_MS_MAX = 2_000;

export class Endpoint {
  readonly address: string;
  readonly #client: grpc.Client;
  readonly #session: Session | undefined;

  /** `time` gives the Session its clock and deadline timers. */
  constructor(address: string, credentials: grpc.ChannelCredentials, protocol: Protocol, time: Time) {
    this.address = address;
    this.#client = new grpc.Client(address, credentials, CHANNEL_OPTIONS);
    this.#session =
      protocol === 'unary'
        ? undefined
        : new Session(this.#client, {
            address,
            time,
            inflightMax: SESSION_INFLIGHT_MAX,
            backoffMsMin: SESSION_BACKOFF_MS_MIN,
            backoffMsMax: SESSION_BACKOFF_MS_MAX,
          });
  }

  /**
   * Worth trying first: connected, or idle (connects on demand), and its
   * Session not backing off. An endpoint that is connecting or whose last
   * attempt failed is tried only after the others.
   */
  preferred(): boolean {
    if (this.#session !== undefined && !this.#session.usable) return false;
    const state = this.#client.getChannel().getConnectivityState(false);
    return state === grpc.connectivityState.READY || state === grpc.connectivityState.IDLE;
  }

  /**
   * One attempt at this endpoint, by `deadlineMs` (wall clock): the response,
   * or the DynamoError and whether the next endpoint may be tried. Never rejects.
   */
  async attempt<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, deadlineMs: number): Promise<Result<Res, Failure>> {
    const session = this.#session;
    const op = method.sessionOp;
    if (session === undefined || op === undefined || session.unsupported) {
      try {
        return ok(await this.call(method, req, deadlineMs));
      } catch (e) {
        return err(unaryFailure(e, this.address));
      }
    }
    const outcome = await session.request(op, method.serialize(req), deadlineMs);
    switch (outcome.kind) {
      case 'ok':
        try {
          return ok(method.deserialize(outcome.body as Buffer));
        } catch (e) {
          const error = new DynamoError('DYNAMO_INTERNAL', `undecodable ${op} response from ${this.address}: ${(e as Error).message}`, { cause: e });
          return err({ error, failOver: false });
        }
      case 'unsupported':
        // An older node without Session: nothing was applied; it still speaks unary.
        return this.attempt(method, req, deadlineMs);
      default:
        return err(sessionFailure(outcome, this.address, op === 'get'));
    }
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

  /** End the Session (its pending requests resolve 'closed') and close the channel. */
  close(): void {
    this.#session?.close();
    this.#client.close();
  }
}
