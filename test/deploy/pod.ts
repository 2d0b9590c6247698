/**
 * What a pod of the rendered StatefulSet gets from Kubernetes, computed the
 * way the kubelet does: its environment (envFrom ConfigMaps first, then
 * `env` in order; downward-API fieldRefs; `$(VAR)` references expanded
 * from variables defined before), its arguments, and the image's own
 * environment and entry point from the Dockerfile. Shared by the manifest
 * checks and the rehearsal.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { podSpecOf, render, type Doc } from './kustomize-lite.ts';

export const K8S_DIR = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url));
export const DOCKERFILE = fileURLToPath(new URL('../../deploy/k8s/Dockerfile', import.meta.url));

/** The rendered base manifests (`kubectl apply -k deploy/k8s` without optional components). */
export function renderBase(): Doc[] {
  return render(K8S_DIR);
}

export function only(docs: readonly Doc[], kind: string, name?: string): Doc {
  const found = docs.filter((d) => d['kind'] === kind && (name === undefined || d['metadata']?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

/** The node container of the StatefulSet. */
export function nodeContainer(docs: readonly Doc[]): Doc {
  const containers = podSpecOf(only(docs, 'StatefulSet'))?.['containers'] as Doc[];
  if (containers.length !== 1) throw new Error(`expected one container, found ${containers.length}`);
  return containers[0]!;
}

/** What the downward API exposes of one pod. */
export interface PodFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Value of a downward-API fieldPath for `pod`; a label the pod does not carry is '' (as the kubelet sets it). */
function fieldValue(pod: PodFacts, fieldPath: string): string {
  if (fieldPath === 'metadata.name') return pod.name;
  const label = /^metadata\.labels\['([^']+)'\]$/.exec(fieldPath);
  if (label !== null) return pod.labels[label[1]!] ?? '';
  throw new Error(`downward API field ${fieldPath} is not modelled here`);
}

/** Expand $(VAR) from `defined`; an unknown reference stays as written (Kubernetes semantics). */
function expand(value: string, defined: Readonly<Record<string, string>>): string {
  return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => defined[name] ?? whole);
}

/** The container environment of `pod` as the kubelet builds it from the rendered manifests. */
export function podEnvironment(docs: readonly Doc[], pod: PodFacts): Record<string, string> {
  const container = nodeContainer(docs);
  const env: Record<string, string> = {};
  for (const from of container['envFrom'] ?? []) {
    const name = from.configMapRef?.name;
    if (name === undefined) throw new Error('only configMapRef envFrom is modelled');
    Object.assign(env, only(docs, 'ConfigMap', name)['data']);
  }
  for (const e of container['env'] ?? []) {
    if (e.value !== undefined) env[e.name] = expand(String(e.value), env);
    else if (e.valueFrom?.fieldRef !== undefined) env[e.name] = fieldValue(pod, e.valueFrom.fieldRef.fieldPath);
    else throw new Error(`env ${e.name}: only value and fieldRef are modelled`);
  }
  return env;
}

/** The final stage of the Dockerfile: its FROM image, USER, ENV, EXPOSEd ports, ENTRYPOINT and CMD. */
export interface ImageFacts {
  readonly from: string;
  readonly user: string;
  readonly env: Record<string, string>;
  readonly expose: number[];
  readonly entrypoint: string[];
  readonly cmd: string[];
  /** Every stage's FROM line, resolved against ARG defaults. */
  readonly stages: string[];
  readonly text: string;
}

export function imageFacts(text = readFileSync(DOCKERFILE, 'utf8')): ImageFacts {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: string[] = [];
  let facts = { from: '', user: '', env: {} as Record<string, string>, expose: [] as number[], entrypoint: [] as string[], cmd: [] as string[] };
  for (const line of lines) {
    const [instruction, ...restWords] = line.split(/\s+/);
    const rest = line.slice(instruction!.length).trim();
    switch (instruction!.toUpperCase()) {
      case 'ARG': {
        const [name, value] = rest.split('=');
        if (stages.length === 0 && value !== undefined) args[name!] = value;
        break;
      }
      case 'FROM': {
        const image = restWords[0]!.replace(/\$\{(\w+)\}/g, (_m, n: string) => args[n] ?? '');
        stages.push(image);
        facts = { from: image, user: '', env: {}, expose: [], entrypoint: [], cmd: [] };
        break;
      }
      case 'USER':
        facts.user = rest;
        break;
      case 'ENV':
        for (const m of rest.matchAll(/(\w+)=(\S+)/g)) facts.env[m[1]!] = m[2]!;
        break;
      case 'EXPOSE':
        facts.expose.push(...restWords.map((p) => Number(p.split('/')[0])));
        break;
      case 'ENTRYPOINT':
        facts.entrypoint = JSON.parse(rest) as string[];
        break;
      case 'CMD':
        facts.cmd = JSON.parse(rest) as string[];
        break;
    }
  }
  return { ...facts, stages, text };
}
