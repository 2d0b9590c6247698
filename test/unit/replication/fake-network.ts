/**
 * In-process stand-in for the Transport port in replication tests: delivers
 * peer requests to handlers registered by address, with per-address faults
 * (down: UnavailableError at once; hung: no reply, TimeoutError at the
 * deadline) and an optional delivery delay. Timers go through the Time port.
 */
import { TimeoutError, UnavailableError, err, ok, type DynamoError, type Result, type Time, type TimerHandle } from '../../../lib/runtime/index.ts';
import type { Address, PeerHandler, PeerRequest, ReplyFor } from '../../../lib/protocol/index.ts';
import type { PeerClient } from '../../../lib/replication/index.ts';

export class FakeNetwork {
  readonly handlers = new Map<Address, PeerHandler>();
  readonly down = new Set<Address>();
  readonly hung = new Set<Address>();
  /** Requests to these addresses are delivered and handled, but the stream breaks before the reply comes back. */
  readonly resetAfterDelivery = new Set<Address>();
  readonly delayMs = new Map<Address, number>();
  /** Every request sent, in order (for assertions on fan-out). */
  readonly sent: { from: Address; to: Address; type: PeerRequest['type'] }[] = [];
  /** The same requests whole, with the replies delivered to them (undefined: an error or none). */
  readonly exchanges: { from: Address; to: Address; req: PeerRequest; reply?: unknown }[] = [];
  readonly #time: Time;

  constructor(time: Time) {
    this.#time = time;
  }

  /** The transport as seen from `from`. */
  client(from: Address): PeerClient {
    return {
      request: <R extends PeerRequest>(to: Address, req: R, timeoutMs: number) => this.#request(from, to, req, timeoutMs),
    };
  }

  async #request<R extends PeerRequest>(from: Address, to: Address, req: R, timeoutMs: number): Promise<Result<ReplyFor<R['type']>, DynamoError>> {
    this.sent.push({ from, to, type: req.type });
    const exchange: { from: Address; to: Address; req: PeerRequest; reply?: unknown } = { from, to, req };
    this.exchanges.push(exchange);
    const handler = this.handlers.get(to);
    if (this.down.has(to) || handler === undefined) {
      return err(new UnavailableError(`peer ${to} is unreachable`, { answered: 0, required: 1 }));
    }
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = this.#time.setTimer(timeoutMs, () => resolve('timeout'));
    });
    if (this.hung.has(to)) {
      await timedOut;
      return err(new TimeoutError(`peer ${to} did not reply within ${timeoutMs} ms`, undefined, { maybeApplied: true }));
    }
    const delay = this.delayMs.get(to) ?? 0;
    const delivered = (async () => {
      if (delay > 0) await new Promise<void>((resolve) => this.#time.setTimer(delay, resolve));
      try {
        const reply = (await handler(req, timeoutMs)) as ReplyFor<R['type']>;
        exchange.reply = reply;
        return ok(reply);
      } catch (e) {
        return err(e as DynamoError);
      }
    })();
    const first = await Promise.race([delivered, timedOut]);
    this.#time.cancelTimer(timer!);
    if (first === 'timeout') return err(new TimeoutError(`peer ${to} did not reply within ${timeoutMs} ms`, undefined, { maybeApplied: true }));
    if (this.resetAfterDelivery.has(to)) {
      return err(new UnavailableError(`peer ${to} unreachable: stream reset`, { answered: 0, required: 1 }, { maybeApplied: true }));
    }
    return first;
  }
}
