/**
 * The direct unary path (direct-unary.ts) as a raw HTTP/2 client sees it:
 * the bytes of a gRPC call, including the ones a grpc-js client never sends
 * (broken framing, a compressed flag without an encoding, grpc-timeout 0),
 * and the calls it must leave to grpc-js (compressed, bad deadline header).
 */
import { expect } from 'chai';
import http2 from 'node:http2';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import * as grpc from '@grpc/grpc-js';
import { grpcTimeoutMs } from '../../../lib/transport/direct-unary.ts';
import { KV_PROTO } from '../../../lib/transport/proto-files.ts';
import { recordingKv } from './recording-kv.ts';
import { rawCall, Resources } from './harness.ts';
import { makeCa } from '../../support/tls-certs.ts';

const root = new protobuf.Root().loadSync(KV_PROTO, { keepCase: false });
const GetRequest = root.lookupType('dynamo.v1.GetRequest');
const GetResponse = root.lookupType('dynamo.v1.GetResponse');

function framed(message: Uint8Array, compressed = 0): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed;
  out.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(out, 5);
  return out;
}

interface RawAnswer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP/2 request on `session`, everything it got back. */
function rawRequest(session: http2.ClientHttp2Session, path: string, body: Buffer, extra: http2.OutgoingHttpHeaders = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ headers, trailers, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.end(body);
  });
}

/** grpc-status of an answer: from the trailers, or from the headers of a Trailers-Only answer. */
const statusOf = (a: RawAnswer): number => Number(a.trailers['grpc-status'] ?? a.headers['grpc-status']);
const messageOf = (a: RawAnswer): string => decodeURI(String(a.trailers['grpc-message'] ?? a.headers['grpc-message']));

describe('transport direct unary path (raw HTTP/2)', function () {
  this.timeout(15_000);
  const res = new Resources();
  const sessions: http2.ClientHttp2Session[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy();
    await res.closeAll();
  });
  const connect = (address: string): http2.ClientHttp2Session => {
    const s = http2.connect(`http://${address}`);
    s.on('error', () => {});
    sessions.push(s);
    return s;
  };

  it('parses grpc-timeout as the spec writes it, and refuses what it does not', () => {
    expect(grpcTimeoutMs(undefined)).to.equal(Number.POSITIVE_INFINITY);
    expect(grpcTimeoutMs('1500m')).to.equal(1500);
    expect(grpcTimeoutMs('2S')).to.equal(2000);
    expect(grpcTimeoutMs('3M')).to.equal(180_000);
    expect(grpcTimeoutMs('1H')).to.equal(3_600_000);
    expect(grpcTimeoutMs('2500u')).to.equal(2.5);
    expect(grpcTimeoutMs('99999999n')).to.be.closeTo(99.999999, 1e-9);
    for (const bad of ['', '5', 'm', '123456789m', '-1m', '1.5S', '10x', ' 10m']) expect(grpcTimeoutMs(bad), bad).to.equal(undefined);
    expect(grpcTimeoutMs(['1m', '2m'])).to.equal(undefined);
  });

  it('answers a plain call itself: one message, status 0 in the trailers, the handler given the request and the deadline', async () => {
    const { kv, seen } = recordingKv();
    const server = await res.server({ kv, requestTimeoutMsDefault: 5_000 });
    const a = await rawRequest(connect(server.address), '/dynamo.v1.KV/Get', framed(GetRequest.encode({ key: Buffer.from('k'), consistency: 4 }).finish()), { 'grpc-timeout': '800m' });
    expect(a.headers[':status']).to.equal(200);
    expect(a.headers['content-type']).to.equal('application/grpc+proto');
    expect(statusOf(a)).to.equal(0);
    expect(a.body.length).to.equal(5 + a.body.readUInt32BE(1));
    const got = GetResponse.toObject(GetResponse.decode(a.body.subarray(5)), { arrays: true }) as { values: Buffer[] };
    expect(got.values.map(String)).to.deep.equal(['v1', 'v2']);
    expect(seen).to.have.length(1);
    expect(seen[0]!.cmd.consistency).to.equal('QUORUM');
    expect(seen[0]!.cmd.timeoutMs).to.be.within(1, 800);
    expect(server.unaryServedDirectly()).to.equal(1);
  });

  it('answers grpc-timeout 0 with DEADLINE_EXCEEDED and the dynamo code, without calling the handler', async () => {
    const { kv, seen } = recordingKv();
    const server = await res.server({ kv });
    const a = await rawRequest(connect(server.address), '/dynamo.v1.KV/Get', framed(GetRequest.encode({ key: Buffer.from('k') }).finish()), { 'grpc-timeout': '0m' });
    expect(statusOf(a)).to.equal(grpc.status.DEADLINE_EXCEEDED);
    expect(a.headers['dynamo-code']).to.equal('DYNAMO_TIMEOUT');
    expect(a.body.length).to.equal(0);
    expect(seen).to.have.length(0);
  });

  it('refuses broken framing and a compressed flag without an encoding, loses nothing, and keeps serving', async () => {
    const { kv, seen } = recordingKv();
    const server = await res.server({ kv });
    const s = connect(server.address);
    const msg = GetRequest.encode({ key: Buffer.from('k') }).finish();
    const cases: [string, Buffer, number, RegExp][] = [
      ['no message at all', Buffer.alloc(0), grpc.status.INVALID_ARGUMENT, /exactly one length-prefixed request message, got 0 bytes/],
      ['a cut prefix', Buffer.from([0, 0, 0]), grpc.status.INVALID_ARGUMENT, /got 3 bytes/],
      ['a length past the end', framed(msg).subarray(0, 6), grpc.status.INVALID_ARGUMENT, /got 6 bytes/],
      ['two messages', Buffer.concat([framed(msg), framed(msg)]), grpc.status.INVALID_ARGUMENT, /exactly one/],
      ['a compressed flag and no grpc-encoding', framed(msg, 1), grpc.status.INTERNAL, /marked compressed/],
      ['bytes that are not a GetRequest', framed(Buffer.from([0xff, 0xff, 0xff])), grpc.status.INVALID_ARGUMENT, /does not decode as dynamo.v1.GetRequest/],
    ];
    for (const [what, body, code, message] of cases) {
      const a = await rawRequest(s, '/dynamo.v1.KV/Get', body);
      expect(statusOf(a), what).to.equal(code);
      expect(messageOf(a), what).to.match(message);
    }
    expect(seen).to.have.length(0);
    const ok = await rawRequest(s, '/dynamo.v1.KV/Get', framed(msg));
    expect(statusOf(ok)).to.equal(0);
    expect(seen).to.have.length(1);
  });

  it('leaves compressed calls and malformed deadlines to grpc-js, which answers them as before', async () => {
    const { kv, seen } = recordingKv();
    const server = await res.server({ kv });
    const s = connect(server.address);
    const msg = GetRequest.encode({ key: Buffer.from('gz') }).finish();
    const gz = await rawRequest(s, '/dynamo.v1.KV/Get', framed(gzipSync(msg), 1), { 'grpc-encoding': 'gzip' });
    expect(statusOf(gz)).to.equal(0);
    expect(String(seen[0]!.cmd.key)).to.equal('gz');
    const badDeadline = await rawRequest(s, '/dynamo.v1.KV/Get', framed(msg), { 'grpc-timeout': 'soon' });
    expect(statusOf(badDeadline)).to.not.equal(0);
    expect(seen).to.have.length(1);
    // And a grpc-js client that compresses its calls is answered too (by grpc-js).
    const c = new grpc.Client(server.address, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2, 'grpc.default_compression_level': 2 });
    try {
      const got = await rawCall(c, 'KV', 'Get', { key: Buffer.from('k2') });
      expect((got.response['values'] as Buffer[]).map(String)).to.deep.equal(['v1', 'v2']);
    } finally {
      c.close();
    }
    expect(seen.map((x) => String(x.cmd.key))).to.deep.equal(['gz', 'k2']);
    expect(server.unaryServedDirectly()).to.equal(0);
  });

  it('is off when bearer tokens are required: grpc-js and its interceptor answer every call', async () => {
    const { kv, seen } = recordingKv();
    const server = await res.server({ kv, authTokens: ['secret-token-1'] });
    const s = connect(server.address);
    const msg = framed(GetRequest.encode({ key: Buffer.from('k') }).finish());
    const refused = await rawRequest(s, '/dynamo.v1.KV/Get', msg);
    expect(statusOf(refused)).to.equal(grpc.status.UNAUTHENTICATED);
    const ok = await rawRequest(s, '/dynamo.v1.KV/Get', msg, { authorization: 'Bearer secret-token-1' });
    expect(statusOf(ok)).to.equal(0);
    expect(seen).to.have.length(1);
    expect(server.unaryServedDirectly()).to.equal(0);
  });

  it('serves KV calls under TLS without tokens (client certificates concern Peer calls only)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'direct-tls-'));
    try {
      makeCa(dir, 'node');
      const file = (n: string): Buffer => readFileSync(path.join(dir, n));
      const { kv, seen } = recordingKv();
      const server = await res.server({ kv, tls: { cert: file('node.crt'), key: file('node.key'), ca: file('node-ca.crt') } });
      const c = new grpc.Client(server.address, grpc.credentials.createSsl(file('node-ca.crt')));
      try {
        const got = await rawCall(c, 'KV', 'Get', { key: Buffer.from('tls') });
        expect((got.response['values'] as Buffer[]).map(String)).to.deep.equal(['v1', 'v2']);
      } finally {
        c.close();
      }
      expect(seen.map((x) => String(x.cmd.key))).to.deep.equal(['tls']);
      expect(server.unaryServedDirectly()).to.equal(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('survives a client that resets its call before the answer', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { kv, seen } = recordingKv(async (x) => {
      if (String(x.cmd.key) === 'slow') await held;
      return undefined;
    });
    const server = await res.server({ kv });
    const s = connect(server.address);
    const req = s.request({ ':method': 'POST', ':path': '/dynamo.v1.KV/Get', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => {});
    req.end(framed(GetRequest.encode({ key: Buffer.from('slow') }).finish()));
    while (seen.length === 0) await new Promise((r) => setImmediate(r));
    req.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => setTimeout(r, 20));
    release();
    await new Promise((r) => setTimeout(r, 20));
    const a = await rawRequest(s, '/dynamo.v1.KV/Get', framed(GetRequest.encode({ key: Buffer.from('after') }).finish()));
    expect(statusOf(a)).to.equal(0);
    expect(seen.map((x) => String(x.cmd.key))).to.deep.equal(['slow', 'after']);
  });
});
