import { expect } from 'chai';
import { parseSeeds } from '../../../lib/node/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

describe('node/parseSeeds', () => {
  it('parses entries with and without ids, trimming whitespace', () => {
    expect(parseSeeds('n1@127.0.0.1:7001, 127.0.0.1:7002 ,n-3.a_b@host.example:65535')).to.deep.equal([
      { id: 'n1', address: '127.0.0.1:7001' },
      { address: '127.0.0.1:7002' },
      { id: 'n-3.a_b', address: 'host.example:65535' },
    ]);
  });

  it('treats blank text as no seeds', () => {
    expect(parseSeeds('')).to.deep.equal([]);
    expect(parseSeeds('   ')).to.deep.equal([]);
  });

  it('accepts bracketed IPv6 addresses', () => {
    expect(parseSeeds('n1@[::1]:7001')).to.deep.equal([{ id: 'n1', address: '[::1]:7001' }]);
  });

  const bad: Array<[string, RegExp]> = [
    ['n1@127.0.0.1:7001,,127.0.0.1:7002', /seed #2 .* is empty/],
    ['127.0.0.1:7001,', /seed #2 .* is empty/],
    ['127.0.0.1', /not host:port/],
    ['n1@127.0.0.1:99999', /not host:port/],
    ['@127.0.0.1:7001', /node id "" must be/],
    ['n 1@127.0.0.1:7001', /node id "n 1" must be/],
    ['a@b@127.0.0.1:7001', /not host:port/],
    ['n1@127.0.0.1:7001,n2@127.0.0.1:7001', /listed twice/],
    ['n1@127.0.0.1:7001,n1@127.0.0.1:7002', /n1 is listed at both/],
  ];
  for (const [text, why] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      let caught: unknown;
      try {
        parseSeeds(text);
      } catch (e) {
        caught = e;
      }
      expect(caught).to.be.instanceOf(InvalidArgumentError);
      expect((caught as Error).message).to.match(why);
    });
  }
});
