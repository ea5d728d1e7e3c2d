/**
 * The choice of a subset for one request: header and cookie matches first, then the split,
 * by a sticky key's hash bucket or a random bucket. Pure functions over compiled data, so a
 * choice costs a few hundred nanoseconds.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { SubsetWeight, TrafficMatch } from './options.ts';

/**
 * A split laid out as cumulative ranges over [0, 100), subsets in a fixed order (the order of
 * `gateway.subsets.<service>`, stable first), whatever the order of the weights given: a weight
 * change moves only the buckets between the old and the new boundaries.
 */
export interface CompiledSplit {
  /** The weights as given (what `TrafficControl.split` reports). */
  readonly weights: readonly SubsetWeight[];
  /** Subset names in range order, zero weights left out. */
  readonly names: readonly string[];
  /** The exclusive upper bound of each name's range; the last is 100. */
  readonly bounds: readonly number[];
}

/**
 * Lays `weights` out in `order` (names missing from `order` come after, in the order given).
 *
 * @example
 * ```ts
 * const split = compileSplit([{ subset: 'v2', weight: 10 }, { subset: 'v1', weight: 90 }], ['v1', 'v2']);
 * subsetForBucket(split, 89); // 'v1'
 * subsetForBucket(split, 90); // 'v2'
 * ```
 */
export function compileSplit(weights: readonly SubsetWeight[], order: readonly string[]): CompiledSplit {
  const byName = new Map(weights.map((w) => [w.subset, w.weight]));
  const ordered = [
    ...order.filter((n) => byName.has(n)),
    ...weights.map((w) => w.subset).filter((n) => !order.includes(n)),
  ];
  const names: string[] = [];
  const bounds: number[] = [];
  let upper = 0;
  for (const name of ordered) {
    const weight = byName.get(name) ?? 0;
    if (weight <= 0) continue;
    upper += weight;
    names.push(name);
    bounds.push(upper);
  }
  return Object.freeze({
    weights: Object.freeze(weights.map((w) => Object.freeze({ subset: w.subset, weight: w.weight }))),
    names: Object.freeze(names),
    bounds: Object.freeze(bounds),
  });
}

/**
 * The subset whose range holds `bucket` (0 to 99).
 *
 * @example
 * ```ts
 * subsetForBucket(compileSplit([{ subset: 'v1', weight: 100 }], ['v1']), 42); // 'v1'
 * ```
 */
export function subsetForBucket(split: CompiledSplit, bucket: number): string {
  const { bounds, names } = split;
  for (let i = 0; i < bounds.length; i++) if (bucket < (bounds[i] as number)) return names[i] as string;
  return names[names.length - 1] as string;
}

/**
 * The hash bucket of a sticky key in [0, 100): 32-bit FNV-1a over the UTF-16 code units,
 * finished with murmur3's avalanche so that the low digits are spread evenly. Stable across
 * processes and versions: the same key always lands in the same bucket.
 *
 * @example
 * ```ts
 * stickyBucket('user-42') === stickyBucket('user-42'); // true
 * ```
 */
export function stickyBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % 100;
}

/**
 * The value of cookie `name` in a `Cookie` header, or undefined.
 *
 * @example
 * ```ts
 * cookieValue('a=1; beta=yes', 'beta'); // 'yes'
 * ```
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let from = 0;
  while (from < header.length) {
    let end = header.indexOf(';', from);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', from);
    if (eq !== -1 && eq < end && header.slice(from, eq).trim() === name) {
      let value = header.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    from = end + 1;
  }
  return undefined;
}

/** A {@link TrafficMatch} with the header name lowercased. */
export type CompiledMatch =
  | { readonly kind: 'header'; readonly name: string; readonly value: string; readonly subset: string }
  | { readonly kind: 'cookie'; readonly name: string; readonly value: string; readonly subset: string };

/** Compiles `match` entries: header names lowercased. */
export function compileMatches(matches: readonly TrafficMatch[] | undefined): readonly CompiledMatch[] {
  return Object.freeze(
    (matches ?? []).map((m) =>
      'header' in m
        ? { kind: 'header' as const, name: m.header.toLowerCase(), value: m.value, subset: m.subset }
        : { kind: 'cookie' as const, name: m.cookie, value: m.value, subset: m.subset },
    ),
  );
}

/** The subset of the first match that holds for `headers`, or undefined. */
export function matchedSubset(matches: readonly CompiledMatch[], headers: IncomingHttpHeaders): string | undefined {
  for (const m of matches) {
    if (m.kind === 'header') {
      const got = headers[m.name];
      if (got === m.value || (Array.isArray(got) && got.includes(m.value))) return m.subset;
    } else if (cookieValue(headers.cookie, m.name) === m.value) return m.subset;
  }
  return undefined;
}

/** A sticky key's source: a lowercase header name or a cookie name. */
export type CompiledSticky = { readonly header: string } | { readonly cookie: string };

/** The sticky key of a request, or undefined when it carries none. */
export function stickyKey(sticky: CompiledSticky, headers: IncomingHttpHeaders): string | undefined {
  if ('header' in sticky) {
    const got = headers[sticky.header];
    const key = Array.isArray(got) ? got[0] : got;
    return key === undefined || key === '' ? undefined : key;
  }
  const key = cookieValue(headers.cookie, sticky.cookie);
  return key === undefined || key === '' ? undefined : key;
}
