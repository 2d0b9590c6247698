/**
 * One node the client talks to: a long-lived grpc-js channel created once
 * and reused by every request (never per request), and on it — with the
 * 'session' protocol — one pipelined Session stream carrying the KV
 * requests. Credentials are a parameter so TLS can be plugged in without
 * touching the call path. `drain()` ends it gracefully: nothing new is
 * taken and the promise resolves once the requests in flight have settled.
 */
import * as grpc from '@grpc/grpc-js';
import type { Result, Time } from '../runtime/index.ts';
import { DynamoError, err, ok } from '../runtime/index.ts';
import { CHANNELZ_OFF, FLOW_CONTROL_WINDOW_BYTES, MESSAGE_BYTES_MAX } from '../transport/index.ts';
import { sessionFailure, unaryFailure, type Failure } from './call-errors.ts';
import type { Protocol } from './options.ts';
import type { UnaryMethod } from './schema.ts';
import { Session } from './session.ts';

/** Channel settings shared by every endpoint. */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // Detect a silently dead peer (pod gone, cable cut) instead of waiting for TCP.
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  // A Session message may hold a large Get response plus up to 1 MiB of others.
  'grpc.max_receive_message_length': MESSAGE_BYTES_MAX,
  // Large Get replies stream in without a WINDOW_UPDATE round trip per 64 KiB (HTTP/2's default window).
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
  // A restarted node is found again quickly (grpc-js would wait up to 120 s).
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
  // Per-call bookkeeping nothing reads (see CHANNELZ_OFF).
  ...CHANNELZ_OFF,
};

/** Session settings: the in-flight bound matches the node's default, so the node never has to refuse. */
const SESSION_INFLIGHT_MAX = 10_000;
const SESSION_BACKOFF_MS_MIN = 100;
const SESSION_BACKOFF_MS_MAX = 2_000;

export class Endpoint {
  readonly address: string;
  readonly #client: grpc.Client;
  readonly #session: Session | undefined;
  /** Unary calls awaiting their callback (drain waits for them). */
  readonly #unary = new Set<Promise<void>>();
  #closed = false;

  /** `time` gives the Session its clock and deadline timers; `channel` adds options (token interceptor, TLS server name). */
  constructor(address: string, credentials: grpc.ChannelCredentials, protocol: Protocol, time: Time, channel: grpc.ClientOptions = {}) {
    this.address = address;
    this.#client = new grpc.Client(address, credentials, { ...CHANNEL_OPTIONS, ...channel });
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

  /** Requests sent through this endpoint and not settled yet. */
  get inflight(): number {
    return this.#unary.size + (this.#session?.inflight ?? 0);
  }

  /**
   * One attempt at this endpoint, by `deadlineMs` (wall clock) or until
   * `signal` aborts: the response, or the failure classified (see
   * call-errors.ts). Never rejects.
   */
  async attempt<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, deadlineMs: number, signal?: AbortSignal): Promise<Result<Res, Failure>> {
    const session = this.#session;
    const op = method.sessionOp;
    const write = op === 'put' || op === 'delete' || method.command === true;
    if (session === undefined || op === undefined || session.unsupported) {
      try {
        return ok(await this.call(method, req, deadlineMs, signal));
      } catch (e) {
        return err(unaryFailure(e, this.address, write, signal?.aborted === true));
      }
    }
    const outcome = await session.request(op, method.serialize(req), deadlineMs, signal);
    switch (outcome.kind) {
      case 'ok':
        try {
          return ok(method.deserialize(outcome.body as Buffer));
        } catch (e) {
          const error = new DynamoError('DYNAMO_INTERNAL', `undecodable ${op} response from ${this.address}: ${(e as Error).message}`, { cause: e, maybeApplied: write });
          return err({ error, reached: true, aborted: false });
        }
      case 'unsupported':
        // An older node without Session: nothing was applied; it still speaks unary.
        return this.attempt(method, req, deadlineMs, signal);
      default:
        return err(sessionFailure(outcome, this.address, write));
    }
  }

  /**
   * One unary call, cancelled when `signal` aborts; rejects with the grpc-js
   * ServiceError as is (the caller classifies it).
   */
  call<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, deadlineMs: number, signal?: AbortSignal): Promise<Res> {
    let onAbort: (() => void) | undefined;
    const done = new Promise<Res>((resolve, reject) => {
      const call = this.#client.makeUnaryRequest(
        method.path,
        method.serialize,
        method.deserialize,
        req,
        { deadline: deadlineMs },
        (error: grpc.ServiceError | null, response?: Res) => {
          if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
          if (error) reject(error);
          else resolve(response as Res);
        },
      );
      if (signal !== undefined) {
        onAbort = () => call.cancel();
        if (signal.aborted) call.cancel();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    const tracked: Promise<void> = done.then(
      () => void this.#unary.delete(tracked),
      () => void this.#unary.delete(tracked),
    );
    this.#unary.add(tracked);
    return done;
  }

  /**
   * Take no new requests, wait until those in flight have settled
   * (answered, failed or past their deadline), then close the channel.
   */
  async drain(): Promise<void> {
    await Promise.all([this.#session?.drain(), ...this.#unary]);
    this.close();
  }

  /** End the Session now (its pending requests resolve 'closed') and close the channel. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#session?.close();
    this.#client.close();
  }
}
