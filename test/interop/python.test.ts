/**
 * "A Python gRPC client generated from kv.proto alone can read and write":
 * generate stubs with grpc_tools.protoc from that one file and run them
 * against a real cluster. Needs Debian's python3-grpcio and python3-grpc-tools
 * (.ci/run installs them); without them the test is skipped and says so.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestCluster, type TestCluster } from '../integration/harness.ts';

const PYTHON = '/usr/bin/python3';
const PROTOS = fileURLToPath(new URL('../../protos', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./kv_client.py', import.meta.url));

function pythonGrpcAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import grpc, grpc_tools.protoc'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('interop: Python client generated from kv.proto alone', function () {
  this.timeout(60_000);
  let t: TestCluster | undefined;
  let gen: string | undefined;

  before(function () {
    if (!pythonGrpcAvailable()) {
      console.log('    (skipped: python3-grpcio / python3-grpc-tools not installed; apt-get install them to run this)');
      this.skip();
    }
  });
  after(async () => {
    await t?.teardown();
    if (gen) rmSync(gen, { recursive: true, force: true });
  });

  it('puts, gets, replaces with the context and deletes', async () => {
    gen = mkdtempSync(path.join(os.tmpdir(), 'dynamo-py-'));
    execFileSync(PYTHON, ['-m', 'grpc_tools.protoc', `-I${PROTOS}`, `--python_out=${gen}`, `--grpc_python_out=${gen}`, 'dynamo/v1/kv.proto']);
    t = await startTestCluster();
    const out = execFileSync(PYTHON, [SCRIPT, gen, t.cluster.endpoints[0]!], { encoding: 'utf8', timeout: 30_000 });
    const seen = JSON.parse(out.trim()) as Record<string, unknown>;
    expect(seen).to.deep.equal({
      put_context: true,
      first: ['from python'],
      second: ['replaced'],
      after_delete: [],
      empty_key: 'INVALID_ARGUMENT',
    });
  });
});
