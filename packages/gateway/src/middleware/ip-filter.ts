import { BlockList, isIP } from 'node:net';
import { resolveOptions } from '@switchyard/core';
import { gatewayError } from '../errors.ts';
import { normalizeAddress } from '../headers.ts';
import type { GatewayContext, GatewayMiddleware } from '../middleware.ts';
import { type IpFilterOptions, ipFilterOptionsSchema } from './options.ts';

/** Collaborators of {@link ipFilter}. */
export interface IpFilterDeps {
  /**
   * Whether an address is one of the gateway's `trustedProxies`; the configured gateway passes
   * its own. Without it, only the direct peer's trust (`ctx.trustedPeer`) is known, so the
   * rightmost `X-Forwarded-For` entry is taken as the client.
   */
  readonly isTrusted?: (address: string) => boolean;
}

/**
 * Compiles a list of addresses and CIDR ranges into one membership test.
 *
 * @example
 * ```ts
 * const inList = addressMatcher(['10.0.0.0/8', '2001:db8::1']);
 * inList('10.1.2.3'); // true
 * ```
 */
export function addressMatcher(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [raw = entry, bits] = entry.split('/');
    const address = normalizeAddress(raw);
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return (address) => {
    const normalized = normalizeAddress(address);
    const family = isIP(normalized);
    if (family === 0) return false;
    return list.check(normalized, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * The client's address as far as it can be trusted: the direct peer, unless the peer is a
 * trusted proxy; then `X-Forwarded-For` is read right to left, skipping trusted proxies, and the
 * first untrusted address is the client. Entries further left were written by whoever the first
 * untrusted hop was, so they are never used. `undefined` when no usable address is known (the
 * socket is gone, or the rightmost untrusted entry is not an IP address).
 *
 * @example
 * ```ts
 * // peer 10.0.0.2 (trusted), X-Forwarded-For: 6.6.6.6, 203.0.113.9, 10.0.0.3 (trusted)
 * clientAddressOf(ctx, (a) => a.startsWith('10.')); // '203.0.113.9'
 * ```
 */
export function clientAddressOf(
  ctx: Pick<GatewayContext, 'req' | 'clientAddress' | 'trustedPeer'>,
  isTrusted?: (address: string) => boolean,
): string | undefined {
  if (!ctx.trustedPeer || ctx.clientAddress === undefined) return ctx.clientAddress;
  const raw = ctx.req.headers['x-forwarded-for'];
  const chain = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',');
  let client = ctx.clientAddress;
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = chain[i]?.trim() ?? '';
    if (hop === '') continue;
    const address = normalizeAddress(stripPort(hop));
    if (isIP(address) === 0) return undefined;
    client = address;
    if (isTrusted === undefined || !isTrusted(address)) return address;
  }
  // Every hop was a trusted proxy: the leftmost one is the closest thing to a client.
  return client;
}

/** `[2001:db8::1]:443` → `2001:db8::1`, `10.0.0.1:80` → `10.0.0.1`; anything else unchanged. */
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed?.[1] !== undefined) return bracketed[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4?.[1] ?? hop;
}

/**
 * Admits or refuses requests by client address (see {@link clientAddressOf}): `deny` wins over
 * `allow`; with an `allow` list only the addresses on it pass. A refused request, or one whose
 * client address cannot be determined, is answered 403 `SY_GATEWAY_IP_DENIED` without contacting
 * the upstream. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) match IPv4 entries.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for an invalid address or range (`ipFilter.allow[0]: ...`)
 * @example
 * ```ts
 * const officeOnly = ipFilter({ allow: ['203.0.113.0/24', '2001:db8::/32'], deny: ['203.0.113.66'] });
 * await createGateway({ options, discovery, middleware: [officeOnly] });
 * ```
 */
export function ipFilter(options: IpFilterOptions, deps: IpFilterDeps = {}): GatewayMiddleware {
  const resolved = resolveOptions(ipFilterOptionsSchema, options, 'ipFilter');
  const allowed = resolved.allow === undefined ? undefined : addressMatcher(resolved.allow);
  const denied = resolved.deny === undefined ? undefined : addressMatcher(resolved.deny);
  return (next) => async (ctx) => {
    const address = clientAddressOf(ctx, deps.isTrusted);
    if (address === undefined) {
      throw gatewayError('SY_GATEWAY_IP_DENIED', 'the client address could not be determined; refused by ipFilter');
    }
    if (denied?.(address) === true || (allowed !== undefined && !allowed(address))) {
      throw gatewayError('SY_GATEWAY_IP_DENIED', `requests from ${address} are not allowed on this route`, {
        details: { address },
      });
    }
    return next(ctx);
  };
}
