/** The transport ceiling as a system under test: unary gRPC echo calls to a separate process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { SystemUnderTest } from './loadgen.ts';

const SERVER = fileURLToPath(new URL('./echo-server.ts', import.meta.url));
const identity = (b: Buffer): Buffer => b;

export async function startEcho(): Promise<SystemUnderTest & { pids(): number[] }> {
  const child = spawn(process.execPath, ['--import=tsx', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', kill);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /echo listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = (payload: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest('/bench.Echo/Echo', identity, identity, payload, (err) => (err ? reject(err) : resolve()));
    });
  return {
    name: 'echo',
    async read(key) {
      await call(Buffer.from(key));
    },
    async update(_key, value) {
      await call(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    },
    pids: () => (child.pid ? [child.pid] : []),
    async close() {
      client.close();
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
      process.off('exit', kill);
    },
  };
}
