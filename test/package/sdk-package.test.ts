/**
 * The SDK as an application gets it: `npm run pack:sdk` writes the tarball,
 * `npm install <tarball>` puts it into an empty project in a temp dir (the
 * registry supplies @grpc/grpc-js and protobufjs), and scripts run there on
 * plain `node` — no TypeScript loader anywhere — as ES module and as
 * CommonJS, against a real local cluster reached through one contact point.
 * A strict `module: nodenext` TypeScript consumer then type-checks against
 * the installed declarations, library files included.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../scripts/build.ts';
import { startTestCluster, type TestCluster } from '../integration/harness.ts';

const run = promisify(execFile);
const NAME = 'dynamo-kv-client';
/** The bound on what installing the SDK costs an application. */
const INSTALL_BYTES_MAX = 20 * 1024 * 1024;

/** A child's environment without any loader flags inherited through NODE_OPTIONS. */
const plainEnv = { ...process.env, NODE_OPTIONS: '' };

const ESM_SCRIPT = `
import { DynamoClient, UnavailableError, texts } from '${NAME}';
const tsx = await import('tsx').then(() => 'present', () => 'absent');
const db = new DynamoClient({ endpoints: [process.argv[2]], timeoutMs: 5000 });
await db.put('sdk:esm', 'from esm', { consistency: 'ALL' });
const got = await db.get('sdk:esm', { consistency: 'ALL' });
const many = await db.getMany(['sdk:esm', 'sdk:missing']);
for (let i = 0; i < 100 && db.endpoints.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
const where = await db.locate('sdk:esm');
console.log(JSON.stringify({
  tsx,
  values: texts(got.values),
  many: many.map((r) => r.found),
  endpoints: db.endpoints.length,
  replicas: where.replicas.length,
  errorClass: typeof UnavailableError,
}));
await db.close();
`;

const CJS_SCRIPT = `
const { DynamoClient, texts } = require('${NAME}');
async function main() {
  const db = new DynamoClient({ endpoints: [process.argv[2]], timeoutMs: 5000 });
  const seen = await db.get('sdk:esm', { consistency: 'ALL' });
  await db.put('sdk:cjs', 'from cjs', { consistency: 'ALL' });
  const got = await db.get('sdk:cjs', { consistency: 'ALL' });
  console.log(JSON.stringify({ seen: texts(seen.values), values: texts(got.values), module: typeof module }));
  await db.close();
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

const TS_ESM = `
import { DynamoClient, DynamoError, DefaultRetryPolicy, UnavailableError, texts } from '${NAME}';
import type { GetResult, KeyLocation, RetryPolicy } from '${NAME}';
const retryPolicy: RetryPolicy = new DefaultRetryPolicy({ attemptsMax: 3 });
const db = new DynamoClient({ endpoints: ['127.0.0.1:7001'], timeoutMs: 1000, retryPolicy });
const got: GetResult = await db.get('k', { consistency: 'QUORUM', signal: new AbortController().signal, deadline: new Date() });
const page: GetResult[] = await db.getMany(['a', new Uint8Array([1])]);
const where: KeyLocation = await db.locate('k');
try {
  await db.put('k', 'v', { context: got.context });
} catch (e) {
  if (e instanceof UnavailableError) console.log(e.answered, e.required);
  if (e instanceof DynamoError) console.log(e.code, e.maybeApplied);
}
console.log(texts(got.values), page.length, where.partition);
await db.close();
`;

const TS_CJS = `
import dynamo = require('${NAME}');
async function main(): Promise<void> {
  const db = new dynamo.DynamoClient({ endpoints: ['127.0.0.1:7001'] });
  const got = await db.get('k');
  const found: boolean = got.found;
  console.log(found, dynamo.texts(got.values));
  await db.close();
}
void main();
`;

/** One deliberate mistake, to prove the checker reads the package's real types (not `any`). */
const TS_WRONG = `
import { DynamoClient } from '${NAME}';
const db = new DynamoClient({ endpoints: ['127.0.0.1:7001'] });
export const found: string = (await db.get('k')).found;
`;

describe(`package: ${NAME} installed from its tarball into an empty project`, function () {
  this.timeout(240_000);
  let dir: string;
  let tarball: string;
  let t: TestCluster | undefined;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-sdk-consumer-'));
    const packed = await run('npm', ['run', '--silent', 'pack:sdk', '--', '--out', dir], { cwd: ROOT, env: plainEnv });
    tarball = packed.stdout.trim().split('\n').at(-1)!;
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: dir, env: plainEnv });
  });
  after(async () => {
    await t?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pack:sdk prints the tarball’s path last, and the package lists only what it ships', async () => {
    expect(path.basename(tarball)).to.match(new RegExp(`^${NAME}-\\d+\\.\\d+\\.\\d+.*\\.tgz$`));
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).to.include.members(['package.json', 'README.md', 'dist/esm/index.js', 'dist/cjs/index.js', 'protos/dynamo/v1/kv.proto', 'protos/dynamo/v1/admin.proto']);
    expect(files).to.include.members(['dist/esm/types/lib/client/index.d.ts', 'dist/cjs/types/lib/client/index.d.ts']);
    const unexpected = files.filter((f) => !/^(package\.json|README\.md|dist\/(esm|cjs)\/(index\.js|package\.json|types\/lib\/(client|runtime|protocol)\/[a-z-]+\.d\.ts)|protos\/dynamo\/v1\/(kv|admin)\.proto)$/.test(f));
    expect(unexpected, 'files outside the SDK’s layout').to.deep.equal([]);
    const pkg = JSON.parse(readFileSync(path.join(dir, 'node_modules', NAME, 'package.json'), 'utf8'));
    expect(pkg.files).to.deep.equal(['dist/', 'protos/']);
    expect(Object.keys(pkg.dependencies).sort()).to.deep.equal(['@grpc/grpc-js', 'protobufjs']);
    expect(pkg.exports['.'].import).to.have.keys(['types', 'default']);
    expect(pkg.exports['.'].require).to.have.keys(['types', 'default']);
    expect(pkg.types).to.be.a('string');
  });

  it(`installs in under ${INSTALL_BYTES_MAX / 1024 / 1024} MB, without storage engines, bundlers or TypeScript loaders`, async () => {
    const { stdout } = await run('du', ['-sk', path.join(dir, 'node_modules')]);
    const bytes = Number(stdout.split('\t')[0]) * 1024;
    expect(bytes).to.be.within(1, INSTALL_BYTES_MAX);
    const { stdout: tree } = await run('npm', ['ls', '--all', '--parseable'], { cwd: dir, env: plainEnv });
    for (const unwanted of ['classic-level', '@nxtedition/rocksdb', 'memory-level', 'esbuild', 'tsx', 'typescript', '@grpc/reflection', 'grpc-health-check']) {
      expect(tree, unwanted).to.not.match(new RegExp(`node_modules/${unwanted.replace('/', '\\/')}(\\n|$)`));
    }
  });

  describe('against a real local cluster', () => {
    before(async () => {
      t = await startTestCluster();
    });

    it('works as an ES module on plain node: put, get, getMany, discovery and locate from one contact point', async () => {
      writeFileSync(path.join(dir, 'esm.mjs'), ESM_SCRIPT);
      const { stdout } = await run(process.execPath, ['esm.mjs', t!.cluster.endpoints[1]!], { cwd: dir, env: plainEnv });
      expect(JSON.parse(stdout)).to.deep.equal({
        tsx: 'absent',
        values: ['from esm'],
        many: [true, false],
        endpoints: 3,
        replicas: 3,
        errorClass: 'function',
      });
    });

    it('works from CommonJS with require() on plain node', async () => {
      writeFileSync(path.join(dir, 'cjs.cjs'), CJS_SCRIPT);
      const { stdout } = await run(process.execPath, ['cjs.cjs', t!.cluster.endpoints[2]!], { cwd: dir, env: plainEnv });
      expect(JSON.parse(stdout)).to.deep.equal({ seen: ['from esm'], values: ['from cjs'], module: 'object' });
    });
  });

  it('type-checks a strict module: nodenext consumer (ESM and CommonJS files, library files included) with zero errors', async () => {
    writeFileSync(path.join(dir, 'consumer.mts'), TS_ESM);
    writeFileSync(path.join(dir, 'consumer.cts'), TS_CJS);
    writeFileSync(path.join(dir, 'wrong.mts'), TS_WRONG);
    const compilerOptions = {
      strict: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'ES2022',
      noEmit: true,
      skipLibCheck: false,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      types: ['node'],
    };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.mts', '*.cts'] }));
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: dir, env: plainEnv }).then(
      () => ({ stdout: '' }),
      (e: { stdout: string }) => ({ stdout: e.stdout }),
    );
    const errors = result.stdout.trim().split('\n').filter((l) => /error TS\d+/.test(l));
    // Exactly the planted mistake: boolean is not assignable to string.
    expect(errors, result.stdout).to.have.length(1);
    expect(errors[0]).to.match(/^wrong\.mts\(4,\d+\): error TS2322/);
  });
});
