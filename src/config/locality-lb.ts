/**
 * A DestinationRule's `loadBalancer.localityLbSetting`, checked the way Istio's validation checks it
 * (weights 1-100 summing to 100 per `distribute` entry, one trailing `*` at most, no empty locality
 * part, no overlapping localities, `failover` between two different plain regions, not both
 * `distribute` and `failover`, no region/zone/subzone label in `failoverPriority` next to `failover`).
 * Pure; every error names the field.
 */
import type { LocalityLbSetting } from '../model/mesh-view.ts';
import { LABEL_TOPOLOGY_REGION, LABEL_TOPOLOGY_SUBZONE, LABEL_TOPOLOGY_ZONE } from '../model/labels.ts';
import { isRecord } from './fields.ts';

/** A field that does not validate; the message starts with the field's path. */
export class InvalidField extends Error {}

function list(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new InvalidField(`${field}: want a list`);
  return v;
}

function text(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw new InvalidField(`${field}: want a non-empty string`);
  return v;
}

/** `region[/zone[/subzone]]` with at most one `*`, as the last character; returns its three parts (`*` for any). */
function localityPattern(v: string, field: string): [string, string, string] {
  const stars = v.split('*').length - 1;
  if (stars > 1 || (stars === 1 && !v.endsWith('*'))) throw new InvalidField(`${field}: locality ${JSON.stringify(v)} may have one '*', only at the end`);
  const parts = v.split('/');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new InvalidField(`${field}: locality ${JSON.stringify(v)} must be region[/zone[/subzone]] without empty parts`);
  const [region = '*', zone = '*', subzone = '*'] = parts;
  if (region === '*') return ['*', '*', '*'];
  return [region, zone, zone === '*' ? '*' : subzone];
}

function overlaps(a: readonly string[], b: readonly string[]): boolean {
  return a.every((x, i) => x === '*' || b[i] === '*' || x === b[i]);
}

/** Localities of one list must not cover each other (one locality would get two rules). */
function disjoint(localities: readonly string[], field: string): void {
  const seen: { name: string; parts: [string, string, string] }[] = [];
  for (const name of localities) {
    const parts = localityPattern(name, field);
    const clash = seen.find((s) => overlaps(s.parts, parts));
    if (clash) throw new InvalidField(`${field}: locality ${JSON.stringify(name)} overlaps ${JSON.stringify(clash.name)}`);
    seen.push({ name, parts });
  }
}

const TOPOLOGY_LABELS: readonly string[] = [LABEL_TOPOLOGY_REGION, LABEL_TOPOLOGY_ZONE, LABEL_TOPOLOGY_SUBZONE];

/** `localityLbSetting` at `at`; throws InvalidField. `notes` gets what has no effect. */
export function convertLocalityLbSetting(v: unknown, at: string, hasOutlierDetection: boolean, notes: string[]): LocalityLbSetting {
  if (!isRecord(v)) throw new InvalidField(`${at}: want an object`);
  const enabled = v['enabled'];
  if (enabled !== undefined && enabled !== null && typeof enabled !== 'boolean') throw new InvalidField(`${at}.enabled: want true or false`);
  const distribute = list(v['distribute'], `${at}.distribute`).map((d, i) => {
    const f = `${at}.distribute[${i}]`;
    if (!isRecord(d)) throw new InvalidField(`${f}: want an object with from and to`);
    const from = text(d['from'], `${f}.from`);
    localityPattern(from, `${f}.from`);
    if (!isRecord(d['to'])) throw new InvalidField(`${f}.to: want a map of locality to weight`);
    const to = Object.entries(d['to']).map(([locality, w]) => {
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > 100) throw new InvalidField(`${f}.to.${locality}: want a weight 1-100, got ${JSON.stringify(w)}`);
      return { locality, weight: w };
    });
    const sum = to.reduce((s, x) => s + x.weight, 0);
    if (sum !== 100) throw new InvalidField(`${f}.to: weights must sum to 100, got ${sum}`);
    disjoint(to.map((x) => x.locality), `${f}.to`);
    return { from, to };
  });
  disjoint(distribute.map((d) => d.from), `${at}.distribute[].from`);
  const failover = list(v['failover'], `${at}.failover`).map((x, i) => {
    const f = `${at}.failover[${i}]`;
    if (!isRecord(x)) throw new InvalidField(`${f}: want an object with from and to`);
    const from = text(x['from'], `${f}.from`);
    const to = text(x['to'], `${f}.to`);
    for (const [k, r] of [['from', from], ['to', to]] as const) {
      if (r.includes('/') || r.includes('*')) throw new InvalidField(`${f}.${k}: want a region (no '/' or '*'), got ${JSON.stringify(r)}`);
    }
    if (from === to) throw new InvalidField(`${f}: from and to must be different regions`);
    return { from, to };
  });
  const failoverPriority = list(v['failoverPriority'], `${at}.failoverPriority`).map((x, i) => text(x, `${at}.failoverPriority[${i}]`));
  if (distribute.length > 0 && failover.length > 0) throw new InvalidField(`${at}: set distribute or failover, not both`);
  if (failover.length > 0) {
    const i = failoverPriority.findIndex((l) => TOPOLOGY_LABELS.includes(l));
    if (i >= 0) throw new InvalidField(`${at}.failoverPriority[${i}]: ${failoverPriority[i] ?? ''} cannot be used together with failover`);
  }
  if ((failover.length > 0 || failoverPriority.length > 0) && !hasOutlierDetection) {
    notes.push(`${at}: failover takes effect only with outlierDetection, which this level does not set (it may inherit one)`);
  }
  return { ...(typeof enabled === 'boolean' ? { enabled } : {}), distribute, failover, failoverPriority };
}
