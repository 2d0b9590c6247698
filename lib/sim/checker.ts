/**
 * The history checker: judges a run from what clients saw (history.ts) and
 * the values every key holds after the heal phase (read at ALL). Pure.
 *
 * A write is *possibly applied* unless it failed with maybeApplied = false;
 * it *covers* a put its context had seen (history.ts ContextOrigin). The rules:
 *
 * - no-phantom: every value any read returned was written by a put of that
 *   key that was possibly applied (never an unwritten value, never one the
 *   store said it refused);
 * - no-duplicate: no read returns one put's value twice (one client write
 *   applied twice, e.g. a forward retried after it may have been applied);
 * - no-lost-write: every acknowledged, durable put is present at the end or
 *   covered by a possibly-applied write (superseded by a write whose context
 *   saw it);
 * - no-resurrection: no value present at the end was covered by an
 *   acknowledged, durable write (a deleted or replaced value never comes back);
 * - read-your-quorum: a strict read with R + W > N that started after a
 *   strict put was acknowledged returns it or a possible successor —
 *   checked for reads that ended before the first fault that can make a
 *   replica forget (tail loss, disk loss, restore, rot), which breaks quorum
 *   intersection until repair. Sloppy requests are exempt: a write counted
 *   on hints, or a read answered by stand-ins, need not meet the same
 *   replicas (Dynamo §4.6);
 * - no-refused-valid-write: a write with no context or a genuine one is never
 *   refused as INVALID_ARGUMENT;
 * - foreign-context-refused: a write carrying a context read for another key
 *   is refused as INVALID_ARGUMENT (it would claim versions of this key the
 *   client never saw);
 * - no-dot-conflict: no replica ever met one version number naming two values.
 *
 * A put is *durable* when acknowledged and, in runs whose faults can make a
 * replica forget, acknowledged by W >= 2 replicas (a single power loss may
 * take a W = 1 write; README "What an acknowledged write survives").
 */
import type { History, Op, ReadOp, WriteOp } from './history.ts';
import { idOf } from './history.ts';

/** One broken rule, with what is needed to understand it. */
export interface Violation {
  readonly rule:
    | 'no-phantom'
    | 'no-duplicate'
    | 'no-lost-write'
    | 'no-resurrection'
    | 'read-your-quorum'
    | 'no-refused-valid-write'
    | 'foreign-context-refused'
    | 'no-dot-conflict'
    | 'final-read-failed'
    /** The simulation itself broke: a deadlock (nothing left to run, work unfinished), a step bound, a failed assertion. */
    | 'simulation-failed';
  readonly key: string;
  readonly message: string;
  /** Ids of the operations involved. */
  readonly ops: readonly number[];
}

/** What the checker needs besides the history. */
export interface CheckInput {
  readonly history: History;
  /** Replication factor N. */
  readonly replicas: number;
  /** Every key's values after the heal phase (a read at ALL); undefined if that read failed. */
  readonly finalValues: ReadonlyMap<string, readonly string[] | undefined>;
  /** Merges that met a dot naming two values, summed over every node life. */
  readonly dotConflicts: number;
}

const possiblyApplied = (w: WriteOp): boolean => !(w.outcome.status === 'failed' && !w.outcome.maybeApplied);
const acknowledged = (op: Op): boolean => op.outcome.status === 'ok';

/** Check a run; returns every violation found (empty when the run is correct). */
export function checkHistory(input: CheckInput): Violation[] {
  const { history, replicas } = input;
  const violations: Violation[] = [];
  const regressions = history.firstRegressionMs !== undefined;
  const durable = (w: WriteOp): boolean => acknowledged(w) && (!regressions || w.needed >= 2);

  const byKey = new Map<string, Op[]>();
  for (const op of history.ops) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  for (const key of new Set([...byKey.keys(), ...input.finalValues.keys()])) {
    const ops = byKey.get(key) ?? [];
    const writes = ops.filter((o): o is WriteOp => o.kind !== 'get');
    const puts = new Map<number, WriteOp>();
    for (const w of writes) if (w.kind === 'put') puts.set(w.id, w);
    const reads = ops.filter((o): o is ReadOp => o.kind === 'get');

    /** Whether possibly-applied write `w` may have superseded put `p`. */
    const covers = (w: WriteOp, p: WriteOp): boolean => {
      if (w === p || !possiblyApplied(w)) return false;
      switch (w.context.kind) {
        case 'read':
          return w.context.seen.has(p.id);
        case 'fuzzed':
          return w.endMs === undefined || p.startMs < w.endMs || (w.context.insider && !acknowledged(w));
        default:
          return false;
      }
    };
    const covered = (p: WriteOp, by: (w: WriteOp) => boolean = () => true): WriteOp | undefined =>
      writes.find((w) => by(w) && covers(w, p));

    /** Value ids of a returned list, reporting phantoms and duplicates. */
    const idsOf = (returned: readonly string[], where: string, opIds: readonly number[]): number[] => {
      const ids: number[] = [];
      const seen = new Set<number>();
      for (const value of returned) {
        const id = idOf(key, value);
        const put = id === undefined ? undefined : puts.get(id);
        if (put === undefined) {
          violations.push({ rule: 'no-phantom', key, message: `${where} returned ${JSON.stringify(value)}, which no put of ${key} wrote`, ops: opIds });
          continue;
        }
        if (!possiblyApplied(put)) {
          violations.push({
            rule: 'no-phantom',
            key,
            message: `${where} returned the value of put #${put.id}, which failed saying it was not applied (${describe(put)})`,
            ops: [...opIds, put.id],
          });
        }
        if (seen.has(put.id)) {
          violations.push({ rule: 'no-duplicate', key, message: `${where} returned the value of put #${put.id} twice: one write applied twice`, ops: [...opIds, put.id] });
        }
        seen.add(put.id);
        ids.push(put.id);
      }
      return ids;
    };

    for (const r of reads) {
      if (!acknowledged(r) || r.returned === undefined) continue;
      const ids = new Set(idsOf(r.returned, `get #${r.id}`, [r.id]));
      // A read that overlaps a fault that made a replica forget may miss what only that replica had.
      const fresh = regressions ? (r.endMs ?? Infinity) < history.firstRegressionMs! : true;
      if (!fresh) continue;
      for (const p of puts.values()) {
        if (!acknowledged(p) || p.endMs === undefined || p.endMs >= r.startMs || p.needed + r.needed <= replicas || !p.strict || !r.strict) continue;
        if (ids.has(p.id)) continue;
        // Same-millisecond starts count: virtual time does not order events within a millisecond.
        const successor = covered(p, (w) => w.startMs <= (r.endMs ?? Infinity));
        if (successor === undefined) {
          violations.push({
            rule: 'read-your-quorum',
            key,
            message: `get #${r.id} (${r.level}, R=${r.needed}) started at t=${r.startMs} after put #${p.id} (${p.level}, W=${p.needed}) was acknowledged at t=${p.endMs}, but returned neither it nor a successor (returned ${r.returned.join(', ') || 'nothing'})`,
            ops: [p.id, r.id],
          });
        }
      }
    }

    for (const w of writes) {
      const refused = w.outcome.status === 'failed' && w.outcome.code === 'DYNAMO_INVALID_ARGUMENT';
      if (w.context.kind === 'foreign' && !refused && w.outcome.status !== 'pending' && !(w.outcome.status === 'failed' && !w.outcome.maybeApplied)) {
        violations.push({
          rule: 'foreign-context-refused',
          key,
          message: `${w.kind} #${w.id} carried a context read for another key and was not refused (${describe(w)})`,
          ops: [w.id],
        });
      }
      if (refused && (w.context.kind === 'none' || w.context.kind === 'read')) {
        violations.push({
          rule: 'no-refused-valid-write',
          key,
          message: `${w.kind} #${w.id} with ${w.context.kind === 'none' ? 'no context' : 'a genuine context'} was refused: ${w.outcome.status === 'failed' ? w.outcome.message : ''}`,
          ops: [w.id],
        });
      }
    }

    if (!input.finalValues.has(key)) continue;
    const final = input.finalValues.get(key);
    if (final === undefined) {
      violations.push({ rule: 'final-read-failed', key, message: `the heal phase could not read ${key} at ALL`, ops: [] });
      continue;
    }
    const present = new Set(idsOf(final, 'the final read', []));
    for (const p of puts.values()) {
      if (!durable(p) || present.has(p.id)) continue;
      if (covered(p) === undefined) {
        violations.push({
          rule: 'no-lost-write',
          key,
          message: `put #${p.id} (${describe(p)}) was acknowledged but is gone at the end, and no write that saw it may have been applied`,
          ops: [p.id],
        });
      }
    }
    for (const id of present) {
      const p = puts.get(id)!;
      const by = writes.find((w) => durable(w) && w.context.kind === 'read' && w.context.sure.has(id));
      if (by !== undefined) {
        violations.push({
          rule: 'no-resurrection',
          key,
          message: `put #${id} is present at the end although ${by.kind} #${by.id} (${describe(by)}), acknowledged, had seen and replaced it`,
          ops: [p.id, by.id],
        });
      }
    }
  }
  if (input.dotConflicts > 0) {
    violations.push({ rule: 'no-dot-conflict', key: '*', message: `replicas met ${input.dotConflicts} version number(s) naming two different values`, ops: [] });
  }
  return violations;
}

/** One line per operation, for violation traces. */
export function describe(op: Op): string {
  const out =
    op.outcome.status === 'ok'
      ? 'ok'
      : op.outcome.status === 'pending'
        ? 'pending'
        : `failed ${op.outcome.code}${op.outcome.maybeApplied ? ' (maybe applied)' : ''}`;
  const span = `t=${op.startMs}..${op.endMs ?? '?'}`;
  if (op.kind === 'get') return `c${op.client} get ${op.key} via ${op.via} ${op.level} ${span} ${out} -> [${(op.returned ?? []).join(', ')}]`;
  const ctx = op.context.kind === 'read' ? `ctx saw {${[...op.context.seen].sort((a, b) => a - b).join(',')}}` : `ctx ${op.context.kind}`;
  const bytes = op.contextBytes.length === 0 ? '' : ` [${Buffer.from(op.contextBytes).toString('hex')}]`;
  return `c${op.client} ${op.kind} ${op.key}${op.value === undefined ? '' : `=${op.value}`} via ${op.via} ${op.level} ${ctx}${bytes} ${span} ${out}`;
}

/**
 * The part of the run that explains a violation: every operation on its key
 * and every fault, in time order (a minimal trace to read, not the whole run).
 */
export function traceOf(history: History, v: Violation): string[] {
  const lines: { atMs: number; line: string }[] = [];
  for (const op of history.ops) if (op.key === v.key) lines.push({ atMs: op.startMs, line: `#${op.id} ${describe(op)}${v.ops.includes(op.id) ? '   <==' : ''}` });
  for (const f of history.faults) lines.push({ atMs: f.atMs, line: f.line });
  return lines.sort((a, b) => a.atMs - b.atMs).map((l) => l.line);
}
