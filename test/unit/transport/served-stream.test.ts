/**
 * Flow control of served streams (served-stream.ts) on a scripted grpc-js
 * call: the test decides when HTTP/2 "takes" each written frame (it calls the
 * write callbacks) and when timers fire, so slot release, pause/resume, reply
 * dropping and the stall cut-off are checked exactly, without sockets.
 */
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { TimerHandle, Time } from '../../../lib/runtime/index.ts';
import type { KvOperation } from '../../../lib/transport/kv-operation.ts';
import { decodeSessionResponses, type SessionOp, type SessionResponseEntry } from '../../../lib/transport/session-codec.ts';
import { SessionServer, type SessionServerOptions } from '../../../lib/transport/session-service.ts';
import { CapturingLogger, gate } from './harness.ts';
import { frame, type RawRequest } from './raw-session.ts';

/** A server call whose writes complete only when the test says so. */
class ScriptedCall extends EventEmitter {
  readonly writes: { frame: Buffer; done: () => void }[] = [];
  taken = 0;
  paused = false;
  ended = false;
  destroyed = false;
  sendMetadata(): void {}
  getPath(): string {
    return '/dynamo.v1.KV/Session';
  }
  getPeer(): string {
    return 'ipv4:10.0.0.9:4711';
  }
  write(f: Buffer, cb: () => void): boolean {
    this.writes.push({ frame: f, done: cb });
    return true;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
  /** HTTP/2 takes the next `n` written frames. */
  take(n = this.writes.length - this.taken): void {
    for (const w of this.writes.slice(this.taken, this.taken + n)) w.done();
    this.taken += n;
  }
  /** Every response written so far, in order. */
  responses(): SessionResponseEntry[] {
    return this.writes.flatMap((w) => decodeSessionResponses(w.frame));
  }
  send(requests: RawRequest[]): void {
    this.emit('data', frame(requests));
  }
}

/** A Time whose timers fire only when the test calls fire(). */
class HeldTimers implements Time {
  #next = 1;
  readonly timers = new Map<number, () => void>();
  nowMs = (): number => 0;
  monotonicMs = (): number => 0;
  setTimer(_delayMs: number, fn: () => void): TimerHandle {
    this.timers.set(this.#next, fn);
    return { id: this.#next++ };
  }
  cancelTimer(h: TimerHandle): void {
    this.timers.delete(h.id);
  }
  fire(): void {
    const due = [...this.timers.values()];
    this.timers.clear();
    for (const fn of due) fn();
  }
}

/** KvOperations answering `bodyBytes` bytes per request (decoding and encoding nothing). */
function ops(bodyBytes: number, hold?: Promise<void>): Record<SessionOp, KvOperation> {
  const op: KvOperation = {
    path: '/dynamo.v1.KV/Get',
    decode: (b) => b,
    encode: (v) => v as Buffer,
    run: async () => {
      await hold;
      return Buffer.alloc(bodyBytes, 1);
    },
    report: () => {},
  };
  return { get: op, put: op, delete: op };
}

/** Two turns: one for the handler to answer, one for the frame it added to be flushed at that turn's end. */
const settle = async (): Promise<void> => {
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
};

function serve(opts: Partial<SessionServerOptions> & { ops: SessionServerOptions['ops'] }) {
  const logger = new CapturingLogger();
  const time = new HeldTimers();
  const server = new SessionServer({
    logger,
    time,
    requestTimeoutMsDefault: 1_000,
    inflightMax: 100,
    lingerMs: 1_000,
    queuedBytesMax: 1 << 20,
    stallMsMax: 1_000,
    ...opts,
  });
  const call = new ScriptedCall();
  server.handler(call as unknown as grpc.ServerDuplexStream<Buffer, Buffer>);
  return { server, call, logger, time };
}

const get = (id: number): RawRequest => ({ id, get: { key: Buffer.from('k') } });

describe('transport served streams: flow control (scripted call)', () => {
  it('a request holds its in-flight slot until the frame with its response was taken by HTTP/2', async () => {
    const { server, call } = serve({ ops: ops(10), inflightMax: 2 });
    call.send([get(1), get(2)]);
    await settle();
    expect(call.responses().map((r) => r.id)).to.deep.equal([1, 2]); // written, not yet taken
    call.send([get(3)]);
    await settle();
    const refused = call.responses().find((r) => r.id === 3)!;
    expect(refused.error).to.deep.include({ code: grpc.status.RESOURCE_EXHAUSTED, dynamoCode: 'DYNAMO_LIMIT_EXCEEDED', maybeApplied: false });
    expect(server.stats().requestsRefused).to.equal(1);
    call.take(1); // the frame carrying 1 and 2
    call.send([get(4)]);
    await settle();
    expect(call.responses().find((r) => r.id === 4)!.op).to.equal('get');
    expect(server.stats().requestsRefused).to.equal(1);
  });

  it('starts requests only while their replies fit the budget; the rest wait in order and the stream stops reading', async () => {
    const hold = gate();
    // Budget 4,000 bytes, first estimate 1,000 per reply: four run at once.
    const { call } = serve({ ops: ops(1_000, hold.promise), queuedBytesMax: 8_000 });
    call.send([1, 2, 3, 4, 5, 6].map(get));
    await settle();
    expect(call.paused).to.equal(true); // 5 and 6 wait
    hold.open();
    await settle();
    expect(call.responses().map((r) => r.id)).to.deep.equal([1, 2, 3, 4]);
    call.take(); // room again: 5 and 6 start
    await settle();
    expect(call.responses().map((r) => r.id)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(call.responses().every((r) => r.op === 'get')).to.equal(true);
    expect(call.paused).to.equal(false);
  });

  it('should replies outgrow the estimate up to the bound, a ready response becomes a small RESOURCE_EXHAUSTED error (maybeApplied for writes)', async () => {
    // Budget 1,250 bytes, first estimate ~312: all three start, but each reply is 3,000 bytes.
    const { server, call } = serve({ ops: ops(3_000), queuedBytesMax: 2_500 });
    call.send([get(1), get(2), { id: 3, put: { key: Buffer.from('k'), value: Buffer.from('v') } }]);
    await settle();
    const [one, two, three] = [1, 2, 3].map((id) => call.responses().find((r) => r.id === id)!);
    expect(one!.body).to.have.length(3_000);
    for (const [r, maybeApplied] of [[two, false], [three, true]] as const) {
      expect(r!.error).to.deep.include({ code: grpc.status.RESOURCE_EXHAUSTED, dynamoCode: 'DYNAMO_LIMIT_EXCEEDED', maybeApplied });
      expect(r!.error!.details).to.match(/^response dropped: this session holds \d+ bytes of responses its client has not read \(limit 2500\)/);
    }
    expect(server.stats().responsesDropped).to.equal(2);
    // What the stream holds stayed within the bound plus the one response that crossed it.
    expect(call.writes.reduce((n, w) => n + w.frame.length, 0)).to.be.below(2_500 + 3_100);
  });

  it('cuts off a stream whose client takes nothing for stallMsMax, and says so; progress re-arms the watch instead', async () => {
    const { server, call, logger, time } = serve({ ops: ops(100) });
    call.send([get(1)]);
    await settle();
    call.send([get(2)]);
    await settle();
    call.take(1);
    time.fire(); // a frame was taken since the watch began: look again later
    expect(call.destroyed).to.equal(false);
    expect(time.timers.size).to.equal(1);
    time.fire(); // nothing taken since
    expect(call.destroyed).to.equal(true); // the scripted call has no http2 stream: the fallback
    expect(server.stats().streamsCutOff).to.equal(1);
    expect(logger.warns.map((w) => w.msg)).to.deep.equal(['cutting off a stream whose caller stopped reading its replies']);
    expect(logger.warns[0]!.fields).to.include({ path: '/dynamo.v1.KV/Session', peer: 'ipv4:10.0.0.9:4711' });
    // Nothing more is written on a stream that was cut off.
    const written = call.writes.length;
    call.send([get(3)]);
    await settle();
    expect(call.writes.length).to.equal(written);
  });

  it('no watch runs on an idle stream', async () => {
    const { call, time } = serve({ ops: ops(100) });
    call.send([get(1)]);
    await settle();
    expect(time.timers.size).to.equal(1);
    call.take();
    time.fire();
    expect(time.timers.size).to.equal(0);
  });

  it('after the half-close, ends the stream only once the last response was taken', async () => {
    const hold = gate();
    const { call } = serve({ ops: ops(10, hold.promise) });
    call.send([get(1)]);
    call.emit('end');
    hold.open();
    await settle();
    expect(call.responses().map((r) => r.id)).to.deep.equal([1]);
    expect(call.ended).to.equal(false);
    call.take();
    expect(call.ended).to.equal(true);
  });
});
