/**
 * PeerConnection against scripted peers (bare gRPC servers on 127.0.0.1:0):
 * what "provably never reached the peer" means on the wire — nothing is
 * written before the callee accepts the stream — and the maybeApplied each
 * failure carries; plus the caller's side of flow control (a peer that takes
 * no requests).
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { DynamoError, UnavailableError, type Result } from '../../../lib/runtime/index.ts';
import type { PeerReply, PeerRequest } from '../../../lib/protocol/index.ts';
import { decodeBatch, KIND_REPLY, writeEnvelope, type EnvelopeBody, type EnvelopeKind } from '../../../lib/transport/peer-codec.ts';
import { CapturingLogger, echoReply, gate, pause, realTime, Resources } from './harness.ts';

function failure(r: Result<unknown, DynamoError>): DynamoError {
  if (r.ok) throw new Error('expected an error result');
  return r.error;
}

/** One PeerBatch frame of envelopes. */
function batch(...envelopes: [number, EnvelopeKind, EnvelopeBody][]): Buffer {
  const w = protobuf.Writer.create();
  for (const [id, kind, body] of envelopes) writeEnvelope(w, id, 0, kind, body, true);
  return w.finish() as Buffer;
}

/** The requests (id, body) in a frame the caller sent. */
function requestsIn(frame: Buffer): [number, PeerRequest][] {
  const out: [number, PeerRequest][] = [];
  decodeBatch(frame, (id, _t, _k, body) => out.push([id, body as PeerRequest]));
  return out;
}

const write = (n: number): PeerRequest => ({ type: 'write', key: Buffer.from(`k${n}`), record: Buffer.alloc(64 * 1024, n) });

describe('transport PeerConnection: never written before accept, maybeApplied, caller-side flow control', function () {
  this.timeout(15_000);
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('writes nothing before the peer accepts; a stream that fails first fails its requests as not applied', async () => {
    let frames = 0;
    const called = gate();
    const address = await res.peerStreamServer((call) => {
      call.on('data', () => frames++);
      called.open();
      // Never accept; refuse the stream once the caller has had every chance to write.
      realTime.setTimer(150, () => call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'not accepting' }));
    });
    const t = res.transport({ backoffMsMin: 5_000 });
    const results = [1, 2, 3].map((n) => t.request(address, write(n), 5_000));
    await called.promise;
    for (const r of await Promise.all(results)) {
      const e = failure(r);
      expect(e).to.be.instanceOf(UnavailableError);
      expect(e.maybeApplied).to.equal(false);
      expect(e.message).to.equal(`peer ${address} unreachable: not accepting`);
    }
    expect(frames).to.equal(0);
    expect(t.stats().framesSent).to.equal(0);
  });

  it('a peer that never accepts the stream: its requests fail as not applied after stallMsMax, none written', async () => {
    let frames = 0;
    const address = await res.peerStreamServer((call) => call.on('data', () => frames++)); // never accepts, never fails
    const t = res.transport({ stallMsMax: 200, backoffMsMin: 5_000 });
    const start = realTime.monotonicMs();
    const e = failure(await t.request(address, write(1), 5_000));
    expect(realTime.monotonicMs() - start).to.be.below(4_000); // long before its own timeout
    expect(e).to.be.instanceOf(UnavailableError);
    expect(e.maybeApplied).to.equal(false);
    expect(e.message).to.equal(`peer ${address} unreachable: peer did not accept the stream within 200 ms`);
    expect(t.reachable(address)).to.equal(false);
    expect(frames).to.equal(0);
  });

  it('requests issued before the accept go out, in order, as soon as the peer accepts', async () => {
    const seen: number[] = [];
    let acceptedAt = Infinity;
    let firstFrameAt = -1;
    const address = await res.peerStreamServer((call) => {
      call.on('data', (frame: Buffer) => {
        if (firstFrameAt < 0) firstFrameAt = realTime.monotonicMs();
        const requests = requestsIn(frame);
        seen.push(...requests.map(([, r]) => Number(String((r as { key: Uint8Array }).key).slice(1))));
        call.write(batch(...requests.map(([id, r]): [number, EnvelopeKind, EnvelopeBody] => [id, KIND_REPLY, echoReply(r)])));
      });
      realTime.setTimer(100, () => {
        acceptedAt = realTime.monotonicMs();
        call.sendMetadata(new grpc.Metadata());
      });
    });
    const t = res.transport();
    const replies = await Promise.all([1, 2, 3].map((n) => t.request(address, write(n), 5_000)));
    for (const r of replies) expect(r.ok).to.equal(true);
    expect(seen).to.deep.equal([1, 2, 3]);
    expect(firstFrameAt).to.be.at.least(acceptedAt);
  });

  it('a request written on a stream that then breaks may have been applied', async () => {
    const address = await res.peerStreamServer((call) => {
      call.sendMetadata(new grpc.Metadata());
      call.on('data', () => call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'crashed mid-request' }));
    });
    const t = res.transport();
    const e = failure(await t.request(address, write(1), 5_000));
    expect(e).to.be.instanceOf(UnavailableError);
    expect(e.maybeApplied).to.equal(true);
    expect(e.message).to.equal(`peer ${address} unreachable: crashed mid-request (the request was sent and may have been applied)`);
  });

  it('a reply it cannot use (undecodable, or of the wrong type) is DYNAMO_INTERNAL, maybe applied', async () => {
    const address = await res.peerStreamServer((call) => {
      call.sendMetadata(new grpc.Metadata());
      call.on('data', (frame: Buffer) => {
        for (const [id, req] of requestsIn(frame)) {
          if (req.type === 'read') {
            // read_reply (6) whose record claims 5 bytes and has 1.
            const env = Buffer.from([0x08, id, (6 << 3) | 2, 3, 0x0a, 0x05, 0x01]);
            call.write(Buffer.concat([Buffer.from([0x0a, env.length]), env]));
          } else call.write(batch([id, KIND_REPLY, { type: 'write' }]));
        }
      });
    });
    const t = res.transport();
    const [undecodable, wrongType] = await Promise.all([
      t.request(address, { type: 'read', key: Buffer.from('k') }, 5_000),
      t.request(address, { type: 'identify' }, 5_000),
    ]);
    for (const r of [undecodable, wrongType]) {
      expect(failure(r).code).to.equal('DYNAMO_INTERNAL');
      expect(failure(r).maybeApplied).to.equal(true);
    }
    expect(failure(undecodable).message).to.match(new RegExp(`^peer ${address} sent an undecodable reply \\(malformed peer message`));
    expect(failure(wrongType).message).to.equal(`peer ${address} answered a identify request with a write reply`);
  });

  it('a peer that takes no requests: beyond queuedBytesMax requests fail fast (not applied); the stalled stream is cancelled (written ones maybe applied)', async () => {
    const received = { frames: 0 };
    const address = await res.peerStreamServer((call) => {
      call.sendMetadata(new grpc.Metadata());
      call.on('data', () => received.frames++);
      call.pause(); // accepts, then reads nothing
    });
    const logger = new CapturingLogger();
    const t = res.transport({ queuedBytesMax: 1024 * 1024, stallMsMax: 300, logger });
    const pending: Promise<Result<PeerReply, DynamoError>>[] = [];
    let refused: DynamoError | undefined;
    // One 64 KiB request per turn (one frame each), until the transport refuses one.
    for (let n = 0; n < 200 && refused === undefined; n++) {
      const r = t.request(address, write(n), 10_000);
      const first = await Promise.race([r, pause(5).then(() => undefined)]);
      if (first !== undefined && !first.ok) refused = first.error;
      else pending.push(r);
    }
    expect(refused, 'a request was refused').to.be.instanceOf(UnavailableError);
    expect(refused!.maybeApplied).to.equal(false);
    expect(refused!.message).to.match(new RegExp(`^peer ${address} is not taking requests fast enough: \\d+ bytes queued \\(limit 1048576\\)$`));
    expect(t.stats().requestsRefusedQueueFull).to.equal(1);
    // The peer reads nothing; within twice stallMsMax the stream is cancelled and the written requests fail.
    const outcomes = await Promise.all(pending);
    for (const r of outcomes) {
      const e = failure(r);
      expect(e).to.be.instanceOf(UnavailableError);
      expect(e.maybeApplied).to.equal(true);
      expect(e.message).to.match(/took no request for 300 ms/);
    }
    expect(t.stats().streamsStalled).to.equal(1);
    expect(logger.warns.map((w) => w.msg)).to.deep.equal(['cancelling a peer stream that takes no requests']);
    // Bounded: what the peer's grpc-js takes before it stops (16 messages and a 64 KiB window) plus our 1 MiB.
    expect(pending.length).to.be.within(17, 100);
    expect(received.frames).to.equal(0);
  });
});
