/**
 * The thin async driver of an ExchangeSession: performs each round's calls on
 * the two ports in parallel, feeds the replies back in issue order, and stops
 * at the result or when `deadline` settles. It sets no timers and reads no
 * clock: the node (or the simulator) owns time and hands in the deadline and
 * the pacing hook, so the same function serves every caller.
 */
import { ExchangeSession, type ExchangeInput, type ExchangeOptions, type ExchangeResult, type OutboundCall } from './exchange.ts';
import { performCall, type TreePort } from './tree-port.ts';

/** The two sides of an exchange: this replica and the peer. */
export interface ExchangePorts {
  readonly local: TreePort;
  readonly remote: TreePort;
}

export interface RunExchangeOptions {
  /**
   * Settles when the exchange must stop (the driver's deadline timer, or a
   * shutdown): the exchange then ends 'aborted' with reason 'deadline', and
   * replies still in flight are ignored.
   */
  readonly deadline?: PromiseLike<unknown>;
  /**
   * Awaited after each round with the payload bytes moved since the last
   * call — the round's replies from the peer and the requests of the next
   * round, not yet sent (admission control: charge them, then wait until
   * the budget allows more). The calls sum to everything the exchange
   * moved. The deadline also cuts this wait short.
   */
  readonly pace?: (bytes: number) => Promise<void>;
}

const DEADLINE = Symbol('deadline');

/** Runs `session` to its end over `ports`. Never rejects for port failures (they end the exchange as 'aborted'). */
export async function runExchange(session: ExchangeSession, ports: ExchangePorts, options: RunExchangeOptions = {}): Promise<ExchangeResult> {
  const deadline: Promise<typeof DEADLINE> | undefined =
    options.deadline === undefined ? undefined : Promise.resolve(options.deadline).then(() => DEADLINE, () => DEADLINE);
  const race = <T>(p: Promise<T>): Promise<T | typeof DEADLINE> => (deadline === undefined ? p : Promise.race([p, deadline]));
  let step = session.start();
  let paced = 0;
  while (step.done === undefined) {
    const inputs = await race(Promise.all(step.calls.map((c) => perform(c, session.partition, ports))));
    if (inputs === DEADLINE) return session.step({ type: 'deadline' }).done!;
    for (const input of inputs) step = session.step(input);
    // This round's replies and the next round's requests (issued while feeding them).
    const moved = session.bytesMoved - paced;
    paced = session.bytesMoved;
    if (options.pace !== undefined && moved > 0) {
      const waited = await race(options.pace(moved));
      if (waited === DEADLINE && step.done === undefined) return session.step({ type: 'deadline' }).done!;
    }
  }
  return step.done;
}

/** A new session over `options`, run to its end: the one call a driver needs. */
export function exchange(options: ExchangeOptions, ports: ExchangePorts, run: RunExchangeOptions = {}): Promise<ExchangeResult> {
  return runExchange(new ExchangeSession(options), ports, run);
}

async function perform(c: OutboundCall, partition: number, ports: ExchangePorts): Promise<ExchangeInput> {
  try {
    const reply = await performCall(c.side === 'local' ? ports.local : ports.remote, partition, c.call);
    return { type: 'reply', id: c.id, reply };
  } catch (e) {
    const code = typeof (e as { code?: unknown })?.code === 'string' ? `${(e as { code: string }).code}: ` : '';
    return { type: 'failed', id: c.id, error: `${code}${e instanceof Error ? e.message : String(e)}` };
  }
}
