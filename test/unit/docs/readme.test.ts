/**
 * README says what the code does: every node flag and its environment
 * variable, the CLI's exit codes exactly as `dynamo --help` prints them,
 * every CLI command, and SDK examples that import the package users install.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES } from '../../../cmd/cli/exit-codes.ts';
import { envName, flagName, NODE_FLAGS } from '../../../lib/config/index.ts';

const README = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');

/** The text of one `##`/`###` section, up to the next heading of the same or a higher level. */
function section(title: string): string {
  const start = README.search(new RegExp(`^#{2,3} ${title}$`, 'm'));
  expect(start, `README section "${title}"`).to.be.greaterThan(-1);
  const level = /^#+/.exec(README.slice(start))![0].length;
  const rest = README.slice(README.indexOf('\n', start) + 1);
  const end = rest.search(new RegExp(`^#{2,${level}} `, 'm'));
  return end === -1 ? rest : rest.slice(0, end);
}

describe('README', () => {
  it('documents every node flag with its environment variable', () => {
    const flags = section('Node flags');
    for (const f of NODE_FLAGS) {
      const row = new RegExp(`^\\| \`--${flagName(f.field)}[^|]*\` \\| \`${envName(f.field)}\` \\| .+ \\|$`, 'm');
      expect(flags, `--${flagName(f.field)}`).to.match(row);
    }
    const rows = flags.split('\n').filter((l) => l.startsWith('| `--'));
    expect(rows).to.have.length(NODE_FLAGS.length);
  });

  it('lists the CLI exit codes as the CLI defines them', () => {
    const codes = section('Exit codes');
    for (const e of EXIT_CODES) expect(codes).to.contain(`| ${e.code} | ${e.meaning} |`);
  });

  it('shows every CLI command', () => {
    const cli = section('CLI');
    for (const command of ['node', 'cluster', 'get', 'put', 'del', 'status', 'where', 'ring', 'join', 'decommission', 'remove', 'repair']) expect(cli).to.match(new RegExp(`^dynamo ${command}\\b`, 'm'));
  });

  it('says how to grow and shrink a cluster with the membership commands', () => {
    const howTo = section('Growing and shrinking a cluster');
    for (const text of ['--seeds', '--auto-join false', 'dynamo join --endpoint', 'dynamo decommission --endpoint', 'dynamo remove n3']) expect(howTo).to.contain(text);
  });

  it('walks a newcomer through Kubernetes, decommissioning before scaling in', () => {
    const k8s = section('Kubernetes');
    for (const text of ['docker build -f deploy/k8s/Dockerfile', 'kubectl apply -k deploy/k8s', 'dynamo.js status', '--replicas=4', 'components/servicemonitor', 'components/tls']) {
      expect(k8s).to.contain(text);
    }
    const decommission = k8s.indexOf('decommission --endpoint dynamo-3.dynamo-peers:7001');
    expect(decommission, 'scale-in decommissions dynamo-3').to.be.greaterThan(-1);
    expect(k8s.indexOf('--replicas=3', decommission), 'and scales down after it').to.be.greaterThan(decommission);
    expect(section('Zones')).to.contain('--zone');
    expect(k8s).to.contain('PodTopologyLabelsAdmission');
  });

  it('imports the SDK from the package applications install, in ESM and CommonJS', () => {
    expect(README).to.not.match(/from 'dynamo-kv'/);
    const sdk = section('SDK');
    expect(sdk).to.contain("from 'dynamo-kv-client'");
    expect(sdk).to.contain("require('dynamo-kv-client')");
    expect(sdk).to.contain('npm run pack:sdk');
    expect(sdk).to.contain('maybeApplied');
  });
});
