/**
 * deploy/k8s, checked offline: every rendered document validates against the
 * Kubernetes schemas (kubernetes-models), the pod passes the Pod Security
 * "restricted" level, and the manifests agree with the Dockerfile (user,
 * ports, paths, entry point) and with the node (every DYNAMO_* variable is a
 * real setting and parses; probes name health services the node serves;
 * grace periods fit the drain). The rehearsal (rehearsal.test.ts) then runs
 * what the manifests describe.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { defaultConfig, envName, resolveNodeConfig, type NodeConfig } from '../../lib/config/index.ts';
import { NODE_HEAP_FLAGS } from '../../lib/node/heap-flags.ts';
import { parseSeeds } from '../../lib/node/seeds.ts';
import { LIVENESS_SERVICE } from '../../lib/transport/index.ts';
import { BUILT_CLI, ROOT } from '../../scripts/build.ts';
import { parseEnvFile, podSpecOf, render, type Doc } from './kustomize-lite.ts';
import { imageFacts, K8S_DIR, nodeContainer, only, podEnvironment, renderBase } from './pod.ts';

const KNOWN_ENV = new Set((Object.keys(defaultConfig()) as (keyof NodeConfig)[]).map(envName));

type Model = new (data: any) => { validate(): void };

/**
 * The schema model of each kind the manifests use; a kind missing here fails
 * the test. Loaded in `before`: the packages are ES modules only, and mocha
 * loads test files through require.
 */
const MODELS: Record<string, Model> = {};

async function loadModels(): Promise<void> {
  const core = await import('kubernetes-models/v1');
  const apps = await import('kubernetes-models/apps/v1');
  const policy = await import('kubernetes-models/policy/v1');
  const monitoring = await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1');
  Object.assign(MODELS, {
    'v1/ConfigMap': core.ConfigMap,
    'v1/Service': core.Service,
    'v1/Pod': core.Pod,
    'apps/v1/StatefulSet': apps.StatefulSet,
    'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
    'monitoring.coreos.com/v1/ServiceMonitor': monitoring.ServiceMonitor,
  });
}

function validate(doc: Doc): void {
  const Model = MODELS[`${doc['apiVersion']}/${doc['kind']}`];
  if (Model === undefined) throw new Error(`no schema for ${String(doc['apiVersion'])} ${String(doc['kind'])}`);
  new Model(doc).validate();
  const spec = podSpecOf(doc);
  if (spec !== undefined) new MODELS['v1/Pod']!({ apiVersion: 'v1', kind: 'Pod', metadata: doc['spec'].template.metadata, spec }).validate();
}

/**
 * Violations of the Pod Security Standards "restricted" profile (which
 * includes "baseline"), as the admission controller checks them
 * (kubernetes.io/docs/concepts/security/pod-security-standards). Windows and
 * AppArmor/SELinux annotations are out of scope: the manifests set none.
 */
export function restrictedViolations(spec: Doc): string[] {
  const bad: string[] = [];
  const pod = spec['securityContext'] ?? {};
  const containers: Doc[] = [...(spec['containers'] ?? []), ...(spec['initContainers'] ?? []), ...(spec['ephemeralContainers'] ?? [])];
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[f] === true) bad.push(`${f}`);
  const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
  for (const v of spec['volumes'] ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type === undefined || !allowedVolumes.includes(type)) bad.push(`volume ${v.name} of type ${String(type)}`);
  }
  const seccompOk = (sc: Doc | undefined): boolean | undefined =>
    sc?.['seccompProfile'] === undefined ? undefined : ['RuntimeDefault', 'Localhost'].includes(sc['seccompProfile'].type);
  if (seccompOk(pod) === false) bad.push('pod seccompProfile');
  if (pod['runAsUser'] === 0) bad.push('pod runAsUser 0');
  for (const c of containers) {
    const sc: Doc = c['securityContext'] ?? {};
    const where = `container ${c['name']}`;
    if (sc['privileged'] === true) bad.push(`${where} privileged`);
    if (sc['allowPrivilegeEscalation'] !== false) bad.push(`${where} allowPrivilegeEscalation not false`);
    if ((sc['runAsNonRoot'] ?? pod['runAsNonRoot']) !== true) bad.push(`${where} runAsNonRoot not true`);
    if (sc['runAsUser'] === 0) bad.push(`${where} runAsUser 0`);
    if ((seccompOk(sc) ?? seccompOk(pod)) !== true) bad.push(`${where} seccompProfile not RuntimeDefault/Localhost`);
    const caps = sc['capabilities'] ?? {};
    if (!(caps['drop'] ?? []).includes('ALL')) bad.push(`${where} capabilities not dropping ALL`);
    for (const add of caps['add'] ?? []) if (add !== 'NET_BIND_SERVICE') bad.push(`${where} adds capability ${add}`);
    for (const p of c['ports'] ?? []) if (p.hostPort !== undefined && p.hostPort !== 0) bad.push(`${where} hostPort ${p.hostPort}`);
    if (sc['procMount'] !== undefined && sc['procMount'] !== 'Default') bad.push(`${where} procMount`);
  }
  return bad;
}

const envEntries = (container: Doc): Doc[] => container['env'] ?? [];
const envValue = (container: Doc, name: string): Doc | undefined => envEntries(container).find((e) => e.name === name);
const portNamed = (container: Doc, name: string): number => (container['ports'] as Doc[]).find((p) => p.name === name)?.containerPort;
const portOf = (hostPort: string): number => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));

describe('deploy/k8s manifests', () => {
  const docs = renderBase();
  const sts = only(docs, 'StatefulSet');
  const spec = podSpecOf(sts)!;
  const container = nodeContainer(docs);
  const configMap = only(docs, 'ConfigMap');
  const peers = only(docs, 'Service', sts['spec'].serviceName);
  const client = only(docs, 'Service', 'dynamo');
  const image = imageFacts();

  before(async function () {
    this.timeout(60_000); // the schema packages are large
    await loadModels();
  });

  describe('schemas', () => {
    it('renders the expected documents, and every one validates against the Kubernetes schemas', () => {
      expect(docs.map((d) => `${d['kind']}/${d['metadata'].name.replace(/-[0-9a-f]{10}$/, '-<hash>')}`).sort()).to.deep.equal(
        ['ConfigMap/dynamo-<hash>', 'PodDisruptionBudget/dynamo', 'Service/dynamo', 'Service/dynamo-peers', 'StatefulSet/dynamo'],
      );
      for (const d of docs) expect(() => validate(d), `${d['kind']} ${d['metadata'].name}`).to.not.throw();
    });

    it('validates with the optional components on (ServiceMonitor, TLS)', () => {
      const all = render(K8S_DIR, { components: ['components/servicemonitor', 'components/tls'] });
      expect(all.map((d) => d['kind'])).to.include('ServiceMonitor');
      for (const d of all) expect(() => validate(d), `${d['kind']} ${d['metadata'].name}`).to.not.throw();
      const tls = nodeContainer(all);
      expect(tls.volumeMounts.find((m: Doc) => m.name === 'tls')).to.include({ mountPath: '/etc/dynamo/tls', readOnly: true });
      expect(podSpecOf(only(all, 'StatefulSet'))!['volumes'].find((v: Doc) => v.name === 'tls').secret.secretName).to.equal('dynamo-tls');
      for (const name of ['DYNAMO_TLS_CERT', 'DYNAMO_TLS_KEY', 'DYNAMO_TLS_CA']) expect(envValue(tls, name)?.value).to.match(/^\/etc\/dynamo\/tls\//);
      // The patch adds to the container; everything the base sets is still there.
      expect(envEntries(tls).length).to.equal(envEntries(container).length + 3);
      // The kubelet's gRPC probe cannot speak TLS: TCP checks of the same port instead.
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        expect(tls[probe], probe).to.deep.include({ tcpSocket: { port: 'grpc' } });
        expect(tls[probe].grpc, probe).to.equal(undefined);
        expect(tls[probe].periodSeconds, probe).to.equal(container[probe].periodSeconds);
      }
      const monitor = only(all, 'ServiceMonitor');
      expect(monitor['spec'].selector.matchLabels).to.deep.equal(peers['metadata'].labels);
      expect(monitor['spec'].endpoints[0].port).to.equal('metrics');
    });

    it('validates with the secret components on too (bearer tokens, context secret), each mounting its Secret where its flag points', () => {
      const all = render(K8S_DIR, { components: ['components/tls', 'components/auth', 'components/context-secret'] });
      for (const d of all) expect(() => validate(d), `${d['kind']} ${d['metadata'].name}`).to.not.throw();
      const c = nodeContainer(all);
      const volumes = podSpecOf(only(all, 'StatefulSet'))!['volumes'];
      const cases = [
        { volume: 'auth', secret: 'dynamo-auth', dir: '/etc/dynamo/auth', env: 'DYNAMO_AUTH_TOKEN_FILE', file: 'token' },
        { volume: 'context-secret', secret: 'dynamo-context-secret', dir: '/etc/dynamo/context', env: 'DYNAMO_CONTEXT_SECRET_FILE', file: 'secrets' },
      ];
      for (const k of cases) {
        expect(c.volumeMounts.find((m: Doc) => m.name === k.volume), k.volume).to.include({ mountPath: k.dir, readOnly: true });
        expect(volumes.find((v: Doc) => v.name === k.volume).secret.secretName, k.volume).to.equal(k.secret);
        expect(envValue(c, k.env)?.value, k.env).to.equal(`${k.dir}/${k.file}`);
      }
      // Each component adds to what the others set: TLS's three, then one each.
      expect(envEntries(c).length).to.equal(envEntries(container).length + 5);
      expect(volumes.map((v: Doc) => v.name)).to.include.members(['tls', 'auth', 'context-secret']);
    });

    it('rejects a document that breaks the schema (the validation can fail)', () => {
      const broken = JSON.parse(JSON.stringify(sts)) as Doc;
      podSpecOf(broken)!['containers'][0].resources.limits.cpu = 'two cores';
      expect(() => validate(broken)).to.throw(/quantity/);
      const wrongType = JSON.parse(JSON.stringify(sts)) as Doc;
      wrongType['spec'].replicas = 'three';
      expect(() => validate(wrongType)).to.throw(/replicas/);
    });
  });

  describe('pod security', () => {
    it('passes the Pod Security "restricted" level', () => {
      expect(restrictedViolations(spec)).to.deep.equal([]);
    });

    it('the check names what a pod breaks (it can fail)', () => {
      const loose = JSON.parse(JSON.stringify(spec)) as Doc;
      delete loose['securityContext'].runAsNonRoot;
      delete loose['containers'][0].securityContext.runAsNonRoot;
      loose['containers'][0].securityContext.capabilities = { add: ['SYS_ADMIN'] };
      loose['containers'][0].securityContext.allowPrivilegeEscalation = true;
      loose['volumes'].push({ name: 'host', hostPath: { path: '/' } });
      loose['hostNetwork'] = true;
      expect(restrictedViolations(loose)).to.deep.equal([
        'hostNetwork',
        'volume host of type hostPath',
        'container dynamo allowPrivilegeEscalation not false',
        'container dynamo runAsNonRoot not true',
        'container dynamo capabilities not dropping ALL',
        'container dynamo adds capability SYS_ADMIN',
      ]);
    });

    it('runs as the image user with a read-only root; only the data volume and /tmp are writable', () => {
      const [uid, gid] = image.user.split(':').map(Number);
      expect(spec['securityContext']).to.include({ runAsUser: uid, runAsGroup: gid, fsGroup: gid, fsGroupChangePolicy: 'OnRootMismatch' });
      expect(uid).to.be.greaterThan(0);
      expect(container['securityContext'].readOnlyRootFilesystem).to.equal(true);
      const mounts = (container['volumeMounts'] as Doc[]).filter((m) => m.readOnly !== true).map((m) => m.mountPath).sort();
      expect(mounts).to.deep.equal(['/tmp', '/var/lib/dynamo']);
      expect(spec['volumes'].find((v: Doc) => v.name === 'tmp').emptyDir).to.be.an('object');
      expect(sts['spec'].volumeClaimTemplates.map((t: Doc) => t.metadata.name)).to.deep.equal(['data']);
      expect(spec['automountServiceAccountToken']).to.equal(false);
    });
  });

  describe('the node', () => {
    const pod0 = podEnvironment(docs, { name: 'dynamo-0', labels: { 'topology.kubernetes.io/zone': 'zone-a' } });

    it('sets only DYNAMO_* variables the node understands, each once', () => {
      const names = [...Object.keys(configMap['data']), ...envEntries(container).map((e) => e.name)].filter((n) => n.startsWith('DYNAMO_'));
      expect(new Set(names).size, 'a variable set twice (ConfigMap and env)').to.equal(names.length);
      for (const name of names) expect(KNOWN_ENV.has(name), `${name} is not a node setting`).to.equal(true);
    });

    it('gives each pod a configuration the node accepts: id, addresses, data dir, zone', () => {
      const config = resolveNodeConfig({}, pod0);
      expect(config).to.include({
        id: 'dynamo-0',
        advertise: `dynamo-0.${peers['metadata'].name}:${portNamed(container, 'grpc')}`,
        dataDir: (container['volumeMounts'] as Doc[]).find((m) => m.name === 'data')?.mountPath,
        zone: 'zone-a',
        autoJoin: true,
      });
      expect(portOf(config.listen)).to.equal(portNamed(container, 'grpc'));
      expect(config.listen.startsWith('0.0.0.0:')).to.equal(true);
      // A node without the zone label runs without a zone.
      expect(resolveNodeConfig({}, podEnvironment(docs, { name: 'dynamo-1', labels: {} })).zone).to.equal('');
    });

    it('seeds the initial pods by their stable DNS names and founds the ring with all of them', () => {
      const config = resolveNodeConfig({}, pod0);
      const seeds = parseSeeds(config.seeds);
      expect(config.bootstrapExpect).to.equal(sts['spec'].replicas);
      expect(seeds).to.have.length(sts['spec'].replicas);
      seeds.forEach((seed, i) => {
        const id = `${sts['metadata'].name}-${i}`;
        expect(seed).to.deep.equal({ id, address: `${id}.${peers['metadata'].name}:${portNamed(container, 'grpc')}` });
      });
    });

    it('takes the zone from the pod label the topology spread uses', () => {
      const zone = envValue(container, 'DYNAMO_ZONE');
      expect(zone?.valueFrom.fieldRef.fieldPath).to.equal("metadata.labels['topology.kubernetes.io/zone']");
      expect(spec['topologySpreadConstraints'].map((c: Doc) => c.topologyKey)).to.deep.equal(['topology.kubernetes.io/zone']);
      const anti = spec['affinity'].podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
      expect(anti.map((t: Doc) => t.topologyKey)).to.deep.equal(['kubernetes.io/hostname']);
      expect(anti[0].labelSelector.matchLabels).to.deep.equal(sts['spec'].selector.matchLabels);
    });

    it('probes liveness and readiness on distinct health services the node serves, on its gRPC port', () => {
      const grpcPort = portNamed(container, 'grpc');
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(container[probe].grpc.port, probe).to.equal(grpcPort);
      expect(container['startupProbe'].grpc.service).to.equal(LIVENESS_SERVICE);
      expect(container['livenessProbe'].grpc.service).to.equal(LIVENESS_SERVICE);
      expect(container['readinessProbe'].grpc.service).to.equal('dynamo.v1.KV');
      const startupS = container['startupProbe'].periodSeconds * container['startupProbe'].failureThreshold;
      expect(startupS, 'startup budget (opening a large database)').to.be.at.least(120);
    });

    it('fits the preStop pause, the drain and the storage close inside the termination grace period', () => {
      const config = resolveNodeConfig({}, pod0);
      const preStopS = container['lifecycle'].preStop.sleep.seconds;
      const closeS = 10; // closing storage, telling peers, exiting: seconds, with room
      expect(spec['terminationGracePeriodSeconds']).to.be.at.least(preStopS + config.shutdownGraceMs / 1000 + closeS);
    });

    it('serves metrics on the port the scrape annotations and the peers Service name', () => {
      const metricsPort = portNamed(container, 'metrics');
      expect(portOf(pod0['DYNAMO_METRICS_LISTEN']!)).to.equal(metricsPort);
      expect(sts['spec'].template.metadata.annotations).to.include({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metricsPort), 'prometheus.io/path': '/metrics' });
      expect(peers['spec'].ports.find((p: Doc) => p.name === 'metrics')).to.include({ port: metricsPort, targetPort: 'metrics' });
    });
  });

  describe('services, budget, config', () => {
    it('runs the StatefulSet behind a headless peers Service that publishes pods before they are ready', () => {
      expect(sts['spec'].podManagementPolicy).to.equal('Parallel');
      expect(peers['spec']).to.include({ clusterIP: 'None', publishNotReadyAddresses: true });
      for (const svc of [peers, client]) {
        expect(svc['spec'].selector).to.deep.equal(sts['spec'].selector.matchLabels);
        for (const p of svc['spec'].ports) expect(portNamed(container, p.targetPort), `${svc['metadata'].name} ${p.name}`).to.equal(p.port);
      }
      expect(client['spec'].ports.map((p: Doc) => p.appProtocol)).to.deep.equal(['grpc']);
      expect(sts['spec'].template.metadata.labels).to.include(sts['spec'].selector.matchLabels);
    });

    it('lets voluntary disruptions take one pod at a time', () => {
      const pdb = only(docs, 'PodDisruptionBudget');
      expect(pdb['spec'].maxUnavailable).to.equal(1);
      expect(pdb['spec'].selector.matchLabels).to.deep.equal(sts['spec'].selector.matchLabels);
    });

    it('generates the ConfigMap, so a changed setting changes the pod template and rolls the pods', () => {
      const kustomization = yaml.load(readFileSync(path.join(K8S_DIR, 'kustomization.yaml'), 'utf8')) as Doc;
      expect(kustomization['configMapGenerator'][0].name).to.equal(container['envFrom'][0].configMapRef.name.replace(/-[0-9a-f]{10}$/, ''));
      expect(kustomization['generatorOptions']?.disableNameSuffixHash).to.not.equal(true);
      expect(container['envFrom'][0].configMapRef.name).to.equal(configMap['metadata'].name);
      const edited = render(K8S_DIR, {
        readFile: (file) => {
          const text = readFileSync(file, 'utf8');
          return file.endsWith('dynamo.env') ? text.replace('DYNAMO_LOG_LEVEL=info', 'DYNAMO_LOG_LEVEL=warn') : text;
        },
      });
      expect(nodeContainer(edited)['envFrom'][0].configMapRef.name).to.not.equal(configMap['metadata'].name);
      expect(parseEnvFile('# c\nA=1\n\nB=x=y\n')).to.deep.equal({ A: '1', B: 'x=y' });
    });
  });

  describe('the image', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

    it('runs the built CLI on plain node, on a current LTS, as the non-root user the pod names', () => {
      expect(image.stages.every((s) => /^node:(22|24)-[a-z]+-slim$/.test(s)), image.stages.join(', ')).to.equal(true);
      expect(image.stages.length).to.be.at.least(2);
      expect(image.entrypoint, 'node with the heap flags (lib/node/heap-flags.ts)').to.deep.equal(['node', ...NODE_HEAP_FLAGS, path.relative(ROOT, BUILT_CLI)]);
      expect(container['args']).to.deep.equal(['node']);
      expect(container['command'], 'the image entry point is used').to.equal(undefined);
      expect(image.user).to.match(/^\d+:\d+$/);
      expect(image.text).to.match(/RUN npm run build/);
      expect(image.text).to.match(/npm ci --omit=dev/);
      expect(image.text).to.not.match(/tsx|--import/);
    });

    it('exposes the container ports and prepares the data directory the pod mounts', () => {
      const ports = (container['ports'] as Doc[]).map((p) => p.containerPort).sort();
      expect([...image.expose].sort()).to.deep.equal(ports);
      const dataDir = (container['volumeMounts'] as Doc[]).find((m) => m.name === 'data')?.mountPath;
      expect(image.env['DYNAMO_DATA_DIR']).to.equal(dataDir);
      expect(image.text).to.contain(`chown ${image.user} ${dataDir}`);
      expect(portOf(image.env['DYNAMO_LISTEN']!)).to.equal(portNamed(container, 'grpc'));
    });

    it('tags the image with the package version, and builds from files the context holds', () => {
      expect(container['image']).to.equal(`dynamo-kv:${pkg.version}`);
      expect(image.text).to.contain(`-t dynamo-kv:${pkg.version} .`);
      const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      expect(ignored).to.include.members(['**/node_modules', 'dist']);
      for (const m of image.text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
        for (const source of m[1]!.split(/\s+/)) {
          expect(existsSync(path.join(ROOT, source)), `COPY ${source}`).to.equal(true);
          expect(ignored, `${source} is excluded from the build context`).to.not.include(source);
        }
      }
    });
  });
});
