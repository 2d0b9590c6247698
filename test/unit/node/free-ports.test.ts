import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { freePorts } from '../../../lib/node/index.ts';

describe('freePorts: loopback ports for nodes that listen on them later', () => {
  it('hands out distinct free ports below the kernel\'s ephemeral range, which outgoing connections never take', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports = await freePorts(8);
    expect(new Set(ports).size).to.equal(8);
    for (const p of ports) {
      expect(p).to.be.at.least(10_000);
      expect(p).to.be.below(low);
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(p, '127.0.0.1', () => resolve());
      });
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });
});
