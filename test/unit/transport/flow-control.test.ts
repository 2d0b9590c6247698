/**
 * Bounded memory under slow readers, end to end over real gRPC on
 * 127.0.0.1:0: a client (or a peer) that sends many requests with large
 * replies and never reads them. The node must stop reading it (HTTP/2 flow
 * control reaches the sender), hold a bounded amount for it, cut it off once
 * it has made no progress for the stall limit, and keep serving everyone
 * else — while a client that does read, however many large responses it
 * asks for at once, gets every one of them. Before flow control, 1,024 unread 256 KiB responses grew the process
 * by ~290 MiB in this very test (and ~540 MiB in the review's run).
 */
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { PeerReply } from '../../../lib/protocol/index.ts';
import { passThrough } from '../../../lib/transport/grpc-options.ts';
import { KIND_REQUEST, writeEnvelope } from '../../../lib/transport/peer-codec.ts';
import { CapturingLogger, realTime, Resources } from './harness.ts';
import { RawSession, type RawRequest } from './raw-session.ts';
import { recordingKv } from './recording-kv.ts';

const MiB = 1024 * 1024;

/** Samples the process's memory every 10 ms; `stop()` returns the peak growth over the first sample, in MiB. */
function memorySampler(): { stop(): { rssMiB: number; arrayBuffersMiB: number } } {
  const base = process.memoryUsage();
  const peak = { rss: 0, arrayBuffers: 0 };
  let running = true;
  const sample = (): void => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss - base.rss);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers - base.arrayBuffers);
    if (running) realTime.setTimer(10, sample);
  };
  sample();
  return {
    stop() {
      running = false;
      sample();
      return { rssMiB: Math.round(peak.rss / MiB), arrayBuffersMiB: Math.round(peak.arrayBuffers / MiB) };
    },
  };
}

const get = (id: number): RawRequest => ({ id, get: { key: Buffer.from(`k${id}`) } });

describe('transport flow control: slow readers cannot make a node buffer without bound', function () {
  this.timeout(20_000);
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('a Session client that reads nothing: the node stops reading it, holds a bounded amount, cuts it off, serves others', async () => {
    const value = Buffer.alloc(256 * 1024, 7);
    const { kv, seen } = recordingKv(() => ({ values: [value], context: Buffer.from([1]) }));
    const logger = new CapturingLogger();
    const server = await res.server({ kv, logger, streamStallMsMax: 500 });
    const client = res.client(server.address);
    const slow = new RawSession(client);
    await slow.accepted;
    slow.call.pause(); // from here on the client reads nothing

    const memory = memorySampler();
    const sent = 1_024;
    for (let i = 0; i < sent; i += 64) slow.send(Array.from({ length: 64 }, (_, j) => get(i + j + 1)));

    // Meanwhile another stream on the same connection is served normally.
    const other = new RawSession(client);
    other.send([get(1)]);
    await other.received(1);
    expect(other.response(1).get!.values![0]!.length).to.equal(value.length);

    const status = await slow.status;
    const peak = memory.stop();
    const stats = server.sessionStats();
    console.log(
      `      paused Session client, ${sent} gets of 256 KiB: peak growth RSS ${peak.rssMiB} MiB, array buffers ${peak.arrayBuffersMiB} MiB; ` +
        `node read ${stats.requestsReceived} of ${sent} requests, dropped ${stats.responsesDropped} responses, cut the stream off: ${status.code === grpc.status.RESOURCE_EXHAUSTED}`,
    );
    // Cut off: the client sees RESOURCE_EXHAUSTED (RST_STREAM ENHANCE_YOUR_CALM), the node says why.
    expect(status.code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    expect(stats.streamsCutOff).to.equal(1);
    expect(logger.warns.map((w) => w.msg)).to.include('cutting off a stream whose caller stopped reading its replies');
    // Flow control reached the client: the node stopped reading its requests long before the last one.
    expect(stats.requestsReceived).to.be.below(sent / 2);
    expect(seen.length).to.be.below(sent / 2);
    // Bounded memory (client and server share this process): ~16 MiB held by the node, ~17 MiB by the paused client.
    expect(peak.rssMiB).to.be.below(150);
    expect(peak.arrayBuffersMiB).to.be.below(100);

    // And the node still serves the other stream.
    other.send([get(2)]);
    await other.received(2);
    expect(other.response(2).result).to.equal('get');
  });

  it('a client that reads gets every response, however many large ones it asks for at once (none dropped)', async () => {
    const value = Buffer.alloc(1024 * 1024, 3);
    const { kv } = recordingKv(() => ({ values: [value], context: Buffer.from([1]) }));
    const server = await res.server({ kv });
    const s = new RawSession(res.client(server.address));
    const n = 96; // 96 MiB of responses asked for in one frame, six times the per-stream bound
    s.send(Array.from({ length: n }, (_, i) => get(i + 1)));
    await s.received(n);
    expect(s.responses.filter((r) => r.result === 'get')).to.have.length(n);
    expect(server.sessionStats()).to.include({ responsesDropped: 0, requestsRefused: 0, streamsCutOff: 0 });
  });

  it('a peer caller that reads none of its replies: the node stops reading it, holds a bounded amount, cuts it off', async () => {
    let served = 0;
    const record = Buffer.alloc(256 * 1024, 9);
    const server = await res.server({
      peer: async (): Promise<PeerReply> => {
        served++;
        return { type: 'read', record };
      },
      streamStallMsMax: 500,
      logger: new CapturingLogger(),
    });
    const call = res.client(server.address).makeBidiStreamRequest<Buffer, Buffer>('/dynamo.v1.Peer/Stream', passThrough, passThrough);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    let ended = false;
    void status.then(() => (ended = true));
    call.on('error', () => {});
    await new Promise((resolve) => call.once('metadata', resolve));
    // Listen, then pause: a grpc-js client stream that never had a 'data' listener keeps reading whatever comes.
    call.on('data', () => {});
    call.pause();
    // Frames of 64 reads, one every 20 ms, until the node cuts the stream off.
    let sent = 0;
    while (!ended && sent < 1_024) {
      const w = protobuf.Writer.create();
      for (let i = 0; i < 64; i++) writeEnvelope(w, ++sent, 5_000, KIND_REQUEST, { type: 'read', key: Buffer.from(`k${sent}`) }, true);
      call.write(w.finish() as Buffer);
      await new Promise((resolve) => realTime.setTimer(20, () => resolve(undefined)));
    }
    expect((await status).code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    const stats = server.peerStats();
    expect(stats).to.include({ streamsOpened: 1, streamsCutOff: 1 });
    // The node stopped reading: it served what the paused client's grpc-js took (16 messages of at most
    // 1 MiB) plus what fits its 8 MiB reply budget, nowhere near what was sent.
    expect(served).to.be.below(sent / 4);
    expect((served - stats.repliesDropped) * record.length).to.be.below(16 * MiB + 16 * MiB + record.length);
  });
});
