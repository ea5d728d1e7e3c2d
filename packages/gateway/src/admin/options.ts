import { zPort } from '@switchyard/core';
import * as z from 'zod';
import { adminAuthOptionsSchema, requireAdminAuthWhenExposed } from './admin-auth.ts';

/**
 * Schema of `gateway.admin`: where the admin API listens. Leaving `admin` out runs no admin
 * server; the admin API is meant for operators, so it binds to loopback unless told otherwise.
 *
 * @example
 * ```ts
 * adminOptionsSchema.parse({}); // { host: '127.0.0.1', port: 9901 }
 * ```
 */
export const adminOptionsSchema = z
  .strictObject({
    /** Interface the admin API listens on. @default "127.0.0.1" */
    host: z.string().min(1, 'must not be empty').default('127.0.0.1'),
    /** Port of the admin API; `0` picks a free port. @default 9901 */
    port: zPort().default(9901),
    /** Bearer tokens the admin API accepts; required when `host` is not a loopback address. */
    auth: adminAuthOptionsSchema.optional(),
  })
  .superRefine((admin, ctx) => requireAdminAuthWhenExposed(admin, ctx));

/** `gateway.admin` as written. */
export type AdminOptions = z.input<typeof adminOptionsSchema>;
/** `gateway.admin` after validation. */
export type ResolvedAdminOptions = z.output<typeof adminOptionsSchema>;
