/** Small helpers shared by the Envoy config builders. */

/** A JSON object as Envoy reads it. */
export type EnvoyJson = { [key: string]: unknown };

/** Milliseconds as a proto3 JSON Duration: `250` -> `"0.25s"`, `30000` -> `"30s"`. */
export function envoyDuration(ms: number): string {
  const seconds = (ms / 1000).toFixed(9).replace(/\.?0+$/, '');
  return `${seconds === '' || seconds === '-' ? '0' : seconds}s`;
}

/** The `type.googleapis.com/` URL of a message, for an `Any`'s `@type`. */
export function typeUrl(fullName: string): string {
  return `type.googleapis.com/${fullName}`;
}

/** Escapes text for use inside an RE2 regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A `SocketAddress` wrapped in an `Address`. */
export function socketAddress(address: string, port: number): EnvoyJson {
  return { socket_address: { address, port_value: port } };
}

/** Copies the entries whose value is not `undefined`. */
export function defined(entries: Record<string, unknown>): EnvoyJson {
  const out: EnvoyJson = {};
  for (const [key, value] of Object.entries(entries)) if (value !== undefined) out[key] = value;
  return out;
}
