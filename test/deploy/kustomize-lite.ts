/**
 * Just enough of kustomize to render deploy/k8s offline in a test (no
 * kustomize or kubectl on the test machine): `resources`, `components`
 * (kind Component: resources and strategic-merge `patches`),
 * `configMapGenerator` (env files and literals, with a content-hash name
 * suffix and the references in pod templates rewritten), and `images`.
 * Anything else in a kustomization is refused, so a manifest change this
 * renderer does not understand fails the tests instead of being ignored.
 *
 * Differences from kustomize, none of which the tests depend on: the name
 * suffix is a stand-in hash (kustomize's is another 10 characters of the
 * same content), and strategic merge merges every list of objects by
 * `name` (kustomize uses each field's merge key; for the lists the patches
 * here touch, containers, env, volumes and volumeMounts, adding entries
 * gives the same result).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';

/** A Kubernetes object as plain data. */
export type Doc = Record<string, any>;

export interface RenderOptions {
  /** Extra components to enable (paths relative to the kustomization), as if listed under `components`. */
  readonly components?: readonly string[];
  /** Reads a file (default: from disk); tests pass one that edits a file's content. */
  readonly readFile?: (file: string) => string;
}

const KUSTOMIZATION_KEYS = new Set(['apiVersion', 'kind', 'resources', 'components', 'configMapGenerator', 'images', 'patches']);

/** Parse a kustomize env file: KEY=VALUE lines; blank lines and lines starting with # are skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`env file line "${line}" is not KEY=VALUE`);
    const key = line.slice(0, eq);
    if (key in out) throw new Error(`env file sets ${key} twice`);
    out[key] = line.slice(eq + 1);
  }
  return out;
}

function loadKustomization(dir: string, read: (file: string) => string, kind: 'Kustomization' | 'Component'): Doc {
  const k = yaml.load(read(path.join(dir, 'kustomization.yaml'))) as Doc;
  if (k['kind'] !== kind) throw new Error(`${dir}/kustomization.yaml is a ${String(k['kind'])}, expected ${kind}`);
  for (const key of Object.keys(k)) if (!KUSTOMIZATION_KEYS.has(key)) throw new Error(`kustomize-lite does not support "${key}" (${dir})`);
  return k;
}

function loadDocs(file: string, read: (file: string) => string): Doc[] {
  return yaml.loadAll(read(file)).filter((d): d is Doc => d !== null && typeof d === 'object');
}

const isNamedList = (v: unknown): v is Doc[] => Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && typeof x.name === 'string');

/** Strategic merge of `patch` into `target` (see the module note on list merging). Returns a new object. */
export function strategicMerge(target: Doc, patch: Doc): Doc {
  const out: Doc = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    if (value === null) {
      delete out[key]; // strategic merge: null deletes the field
    } else if (isNamedList(current) && isNamedList(value)) {
      const merged = current.map((item) => {
        const p = value.find((v) => v.name === item.name);
        return p === undefined ? item : strategicMerge(item, p);
      });
      for (const v of value) if (!current.some((c) => c.name === v.name)) merged.push(v);
      out[key] = merged;
    } else if (current && value && typeof current === 'object' && typeof value === 'object' && !Array.isArray(current) && !Array.isArray(value)) {
      out[key] = strategicMerge(current, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function applyPatches(docs: Doc[], dir: string, patches: unknown, read: (file: string) => string): Doc[] {
  let out = docs;
  for (const entry of (patches as Doc[] | undefined) ?? []) {
    if (typeof entry['path'] !== 'string' || Object.keys(entry).length !== 1) throw new Error('kustomize-lite supports patches given by path only');
    for (const patch of loadDocs(path.join(dir, entry['path']), read)) {
      const match = (d: Doc): boolean => d['kind'] === patch['kind'] && d['metadata']?.name === patch['metadata']?.name;
      if (!out.some(match)) throw new Error(`patch ${entry['path']} matches no ${String(patch['kind'])} ${String(patch['metadata']?.name)}`);
      out = out.map((d) => (match(d) ? strategicMerge(d, patch) : d));
    }
  }
  return out;
}

/** The pod spec of a workload document, if it has one. */
export function podSpecOf(doc: Doc): Doc | undefined {
  return doc['spec']?.template?.spec;
}

function renameConfigMapRefs(doc: Doc, from: string, to: string): void {
  const spec = podSpecOf(doc);
  if (spec === undefined) return;
  for (const c of [...(spec['containers'] ?? []), ...(spec['initContainers'] ?? [])]) {
    for (const e of c.envFrom ?? []) if (e.configMapRef?.name === from) e.configMapRef.name = to;
    for (const e of c.env ?? []) if (e.valueFrom?.configMapKeyRef?.name === from) e.valueFrom.configMapKeyRef.name = to;
  }
  for (const v of spec['volumes'] ?? []) if (v.configMap?.name === from) v.configMap.name = to;
}

/** Render the kustomization in `dir` to its documents, in kustomize's resource order (generated ConfigMaps last). */
export function render(dir: string, opts: RenderOptions = {}): Doc[] {
  const read = opts.readFile ?? ((file: string) => readFileSync(file, 'utf8'));
  const k = loadKustomization(dir, read, 'Kustomization');
  let docs: Doc[] = [];
  for (const file of (k['resources'] as string[] | undefined) ?? []) docs.push(...loadDocs(path.join(dir, file), read));
  for (const rel of [...((k['components'] as string[] | undefined) ?? []), ...(opts.components ?? [])]) {
    const cdir = path.join(dir, rel);
    const c = loadKustomization(cdir, read, 'Component');
    for (const file of (c['resources'] as string[] | undefined) ?? []) docs.push(...loadDocs(path.join(cdir, file), read));
    docs = applyPatches(docs, cdir, c['patches'], read);
  }
  docs = applyPatches(docs, dir, k['patches'], read);
  docs = JSON.parse(JSON.stringify(docs)) as Doc[];
  for (const gen of (k['configMapGenerator'] as Doc[] | undefined) ?? []) {
    for (const key of Object.keys(gen)) if (!['name', 'envs', 'literals'].includes(key)) throw new Error(`kustomize-lite: configMapGenerator "${key}" unsupported`);
    const data: Record<string, string> = {};
    for (const file of (gen['envs'] as string[] | undefined) ?? []) Object.assign(data, parseEnvFile(read(path.join(dir, file))));
    for (const lit of (gen['literals'] as string[] | undefined) ?? []) {
      const eq = lit.indexOf('=');
      data[lit.slice(0, eq)] = lit.slice(eq + 1);
    }
    const name = gen['name'] as string;
    const hash = createHash('sha256').update(JSON.stringify(Object.entries(data).sort())).digest('hex').slice(0, 10);
    const generated = `${name}-${hash}`;
    for (const d of docs) renameConfigMapRefs(d, name, generated);
    docs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generated }, data });
  }
  for (const image of (k['images'] as Doc[] | undefined) ?? []) {
    for (const d of docs) {
      for (const c of podSpecOf(d)?.['containers'] ?? []) {
        const [repo, tag] = String(c.image).split(':');
        if (repo !== image['name']) continue;
        c.image = `${image['newName'] ?? repo}:${image['newTag'] ?? tag ?? 'latest'}`;
      }
    }
  }
  return docs;
}
