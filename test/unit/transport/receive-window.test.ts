import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { FLOW_CONTROL_WINDOW_BYTES } from '../../../lib/transport/grpc-options.ts';
import { HTTP2_DEFAULT_WINDOW_BYTES, widenReceiveWindows } from '../../../lib/transport/receive-window.ts';
import { Resources } from './harness.ts';

/**
 * What a plain HTTP/2 client connected to `address` is allowed to send: the
 * per-stream window the server advertised (once it advertises `expected`)
 * and the connection's window the server granted.
 */
class RawConnection {
  readonly session: http2.ClientHttp2Session;
  #latest: http2.Settings = {};
  readonly #waiting: Array<{ initial: number; resolve: () => void }> = [];

  constructor(address: string) {
    this.session = http2.connect(`http://${address}`);
    this.session.on('error', () => undefined);
    this.session.on('remoteSettings', (s) => {
      this.#latest = s;
      for (const w of this.#waiting.splice(0)) {
        if (s.initialWindowSize === w.initial) w.resolve();
        else this.#waiting.push(w);
      }
    });
  }

  /** Resolves once the server has advertised this per-stream window (the test's timeout is the failure). */
  advertised(initial: number): Promise<void> {
    if (this.#latest.initialWindowSize === initial) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ initial, resolve }));
  }

  /** The server's last SETTINGS, after a PING round trip so every frame it sent before is in. */
  async settled(): Promise<{ streamWindow: number | undefined; connectionWindow: number | undefined }> {
    if (this.session.connecting) await new Promise((resolve) => this.session.once('connect', resolve));
    await new Promise<void>((resolve, reject) => this.session.ping((e) => (e ? reject(e) : resolve())));
    return { streamWindow: this.#latest.initialWindowSize, connectionWindow: this.session.state.remoteWindowSize };
  }

  close(): void {
    this.session.destroy();
  }
}

describe('transport receive windows (the server widens HTTP/2 flow control)', function () {
  this.timeout(15_000);
  const res = new Resources();
  const raws: RawConnection[] = [];
  const servers: grpc.Server[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close();
    for (const s of servers.splice(0)) s.forceShutdown();
    await res.closeAll();
  });

  function connect(address: string): RawConnection {
    const r = new RawConnection(address);
    raws.push(r);
    return r;
  }

  it('grants every connection and stream the default window of 8 MiB, not HTTP/2\'s 64 KiB', async () => {
    expect(FLOW_CONTROL_WINDOW_BYTES).to.equal(8 * 1024 * 1024);
    const server = await res.server();
    const raw = connect(server.address);
    await raw.advertised(FLOW_CONTROL_WINDOW_BYTES);
    const { streamWindow, connectionWindow } = await raw.settled();
    expect(streamWindow).to.equal(FLOW_CONTROL_WINDOW_BYTES);
    expect(connectionWindow).to.equal(FLOW_CONTROL_WINDOW_BYTES);
  });

  it('takes the window from its options; 65535 leaves HTTP/2\'s default', async () => {
    const wide = await res.server({ receiveWindowBytes: 1 << 20 });
    const rawWide = connect(wide.address);
    await rawWide.advertised(1 << 20);
    expect((await rawWide.settled()).connectionWindow).to.equal(1 << 20);

    const narrow = await res.server({ receiveWindowBytes: HTTP2_DEFAULT_WINDOW_BYTES });
    const rawNarrow = connect(narrow.address);
    const { streamWindow, connectionWindow } = await rawNarrow.settled();
    expect(streamWindow ?? HTTP2_DEFAULT_WINDOW_BYTES).to.equal(HTTP2_DEFAULT_WINDOW_BYTES);
    expect(connectionWindow).to.equal(HTTP2_DEFAULT_WINDOW_BYTES);
  });

  it('widens sessions accepted before it was called as well as later ones', async () => {
    const server = new grpc.Server();
    servers.push(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const early = connect(`127.0.0.1:${port}`);
    expect((await early.settled()).connectionWindow).to.equal(HTTP2_DEFAULT_WINDOW_BYTES);

    expect(widenReceiveWindows(server, 2 << 20)).to.equal(true);
    await early.advertised(2 << 20);
    expect((await early.settled()).connectionWindow).to.equal(2 << 20);

    const late = connect(`127.0.0.1:${port}`);
    await late.advertised(2 << 20);
    expect((await late.settled()).connectionWindow).to.equal(2 << 20);
  });

  it('says so when grpc-js keeps no http2 servers where it looks (the server is not bound yet)', () => {
    const server = new grpc.Server();
    servers.push(server);
    expect(widenReceiveWindows(server, 2 << 20)).to.equal(false);
    // Nothing to widen is not a failure.
    expect(widenReceiveWindows(server, HTTP2_DEFAULT_WINDOW_BYTES)).to.equal(true);
  });
});
