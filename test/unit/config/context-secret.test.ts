/** --context-secret-file and --accept-unsigned-contexts: parsing, the file's rules, and the codec a node gets from them. */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveNodeConfig } from '../../../lib/config/index.ts';
import { loadContexts } from '../../../lib/node/process.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { ContextCodec, encodeContext } from '../../../lib/vclock/index.ts';

const base = { DYNAMO_ID: 'n1' };
const KEY = new TextEncoder().encode('k');
const vv = [{ actor: 'n1.e1', counter: 2 }];
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('config: context secrets', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-secrets-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  it('defaults to no file (the public default secret) and refusing unsigned contexts', () => {
    const c = resolveNodeConfig({}, base);
    expect(c.contextSecretFile).to.equal('');
    expect(c.acceptUnsignedContexts).to.equal(false);
    const codec = loadContexts(c);
    expect(codec.decode(encodeContext(vv, KEY), KEY)).to.deep.equal(vv);
    expect(() => codec.decode(Uint8Array.from([2, ...encodeContext(vv, KEY).subarray(1, 16)]), KEY)).to.throw(InvalidArgumentError, /format version 2/);
  });

  it('reads the flags or their environment variables', () => {
    expect(resolveNodeConfig({ contextSecretFile: ' /s ' }, base).contextSecretFile).to.equal('/s');
    expect(resolveNodeConfig({}, { ...base, DYNAMO_CONTEXT_SECRET_FILE: '/e' }).contextSecretFile).to.equal('/e');
    expect(resolveNodeConfig({ acceptUnsignedContexts: '' }, base).acceptUnsignedContexts).to.equal(true);
    expect(resolveNodeConfig({}, { ...base, DYNAMO_ACCEPT_UNSIGNED_CONTEXTS: 'false' }).acceptUnsignedContexts).to.equal(false);
    expect(() => resolveNodeConfig({ acceptUnsignedContexts: 'maybe' }, base)).to.throw(InvalidArgumentError, /--accept-unsigned-contexts \(DYNAMO_ACCEPT_UNSIGNED_CONTEXTS\)/);
  });

  it('signs with the first secret of the file and verifies with any, skipping blank lines and comments', () => {
    const p = file('two', '# rotation in progress\n\n  new secret, sixteen+ bytes  \r\nold secret, sixteen+ bytes\n');
    const codec = loadContexts(resolveNodeConfig({ contextSecretFile: p }, base));
    const oldOnly = new ContextCodec({ secrets: [bytes('old secret, sixteen+ bytes')] });
    const newOnly = new ContextCodec({ secrets: [bytes('new secret, sixteen+ bytes')] });
    expect(codec.decode(oldOnly.encode(vv, KEY), KEY)).to.deep.equal(vv);
    expect(codec.encode(vv, KEY)).to.deep.equal(newOnly.encode(vv, KEY));
    expect(() => codec.decode(encodeContext(vv, KEY), KEY), 'the default secret is not among them').to.throw(InvalidArgumentError, /signature does not match/);
  });

  it('refuses a missing file, one without a secret, and a secret under 16 bytes, naming the flag', () => {
    const load = (p: string): (() => ContextCodec) => () => loadContexts(resolveNodeConfig({ contextSecretFile: p }, base));
    expect(load(path.join(dir, 'absent'))).to.throw(InvalidArgumentError, /^--context-secret-file .*absent: ENOENT$/);
    expect(load(file('empty', '# nothing\n\n'))).to.throw(InvalidArgumentError, /--context-secret-file .*empty holds no secret/);
    expect(load(file('short', 'a long enough secret here\nshort\n'))).to.throw(InvalidArgumentError, /secret 2 is shorter than 16 bytes/);
  });
});
