/**
 * Whether `host`, as given to `listen()`, only accepts connections from this machine: `localhost`,
 * any `127.0.0.0/8` address, `::1`, or an IPv4-mapped loopback (`::ffff:127.0.0.1`). Wildcards
 * (`0.0.0.0`, `::`), other addresses and other host names are not: they may be reachable from the
 * network, so a control plane bound there must authenticate its callers.
 *
 * @example
 * ```ts
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('0.0.0.0');   // false
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  return octets !== null && octets[1] === '127' && octets.slice(2).every((o) => Number(o) <= 255);
}
