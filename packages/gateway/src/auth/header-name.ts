import { z } from 'zod';

// Kept apart from identity.ts so the option schemas need nothing from the request context.

/** Names the gateway itself owns or that carry credentials; an identity header may not reuse them. */
const reserved: ReadonlySet<string> = new Set([
  'host',
  'authorization',
  'cookie',
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'x-request-id',
  'via',
  'forwarded',
]);

/** A lower-case HTTP field name (RFC 9110 §5.1 token) that no identity could clash with. */
export const zHeaderName = () =>
  z
    .string()
    .regex(/^[a-z0-9!#$%&'*+.^_`|~-]+$/, 'expected a lower-case HTTP header name such as "x-user-id"')
    .refine((name) => !reserved.has(name) && !name.startsWith('x-forwarded-'), {
      message: 'this header is reserved (credentials, framing or forwarding); choose another, e.g. "x-user-id"',
    });
