/**
 * The Kubernetes manifests agree with each other and with the node's flags:
 * a wrong service name or a seed list that misses a pod would only show up
 * in a real cluster otherwise.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { envName, defaultConfig, type NodeConfig } from '../../../lib/config/index.ts';

const dir = fileURLToPath(new URL('../../../deploy/k8s/', import.meta.url));
const load = (file: string): any => yaml.load(readFileSync(dir + file, 'utf8'));

describe('deploy/k8s manifests', () => {
  const sts = load('statefulset.yaml');
  const headless = load('service-headless.yaml');
  const client = load('service-client.yaml');
  const config = load('configmap.yaml');
  const kustomization = load('kustomization.yaml');

  it('lists every manifest in the kustomization', () => {
    expect(kustomization.resources.sort()).to.deep.equal(
      ['configmap.yaml', 'poddisruptionbudget.yaml', 'service-client.yaml', 'service-headless.yaml', 'statefulset.yaml'].sort(),
    );
  });

  it('runs the StatefulSet behind the headless peer service', () => {
    expect(sts.spec.serviceName).to.equal(headless.metadata.name);
    expect(headless.spec.clusterIP).to.equal('None');
    expect(headless.spec.selector).to.deep.equal(sts.spec.template.metadata.labels);
    expect(client.spec.selector).to.deep.equal(sts.spec.template.metadata.labels);
  });

  it('seeds every pod by its stable DNS name and id', () => {
    const seeds: string[] = config.data.DYNAMO_SEEDS.split(',');
    expect(seeds).to.have.length(sts.spec.replicas);
    seeds.forEach((seed, i) => {
      expect(seed).to.equal(`${sts.metadata.name}-${i}@${sts.metadata.name}-${i}.${headless.metadata.name}:7001`);
    });
  });

  it('only sets environment variables the node understands', () => {
    const known = new Set((Object.keys(defaultConfig()) as (keyof NodeConfig)[]).map(envName));
    const container = sts.spec.template.spec.containers[0];
    const names = [...Object.keys(config.data), ...container.env.map((e: { name: string }) => e.name).filter((n: string) => n.startsWith('DYNAMO_'))];
    for (const name of names) expect(known.has(name), name).to.equal(true);
  });

  it('probes gRPC health on the served port and keeps data on a volume claim', () => {
    const container = sts.spec.template.spec.containers[0];
    expect(container.readinessProbe.grpc.port).to.equal(7001);
    expect(container.readinessProbe.grpc.service).to.equal('dynamo.v1.KV');
    expect(container.volumeMounts[0].mountPath).to.equal(container.env.find((e: { name: string }) => e.name === 'DYNAMO_DATA_DIR').value);
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).to.equal(container.volumeMounts[0].name);
  });
});
