/**
 * `mtls:` of `switchyard.yaml`: mutual TLS between the gateway and the services `switchyard
 * up` runs, and between those services. `up` keeps a local certificate authority under the
 * data directory, issues every instance (and the in-process gateway) a short-lived SPIFFE
 * certificate, writes it into the instance's directory, hands the paths over in the
 * environment (`startService` of `@switchyard/service` reads them), and rewrites the files
 * before each certificate expires.
 */
import { join } from 'node:path';
import { spiffePatternProblem, trustDomainProblem, zDuration } from '@switchyard/core';
import { createLocalCa, type RotatingIdentity, writeIdentityFiles } from '@switchyard/mesh';
import { MtlsEnv } from '@switchyard/service';
import * as z from 'zod';

const HOUR = 3_600_000;
/** The service account of the in-process gateway's SPIFFE ID. */
export const GATEWAY_SERVICE_ACCOUNT = 'gateway';

/** SPIFFE path segment characters (SPIFFE-ID §2.2). */
const segment = z
  .string()
  .regex(/^[a-zA-Z0-9._-]+$/, 'expected letters, digits, ".", "-" or "_"')
  .refine((s) => s !== '.' && s !== '..', 'expected a name other than "." and ".."');

/** The object form of `mtls:`; `mtls: true` is this with every default. */
export const upMtlsObjectSchema = z.strictObject({
  /** Trust domain of every SPIFFE ID issued (`spiffe://<trustDomain>/ns/<namespace>/sa/<service>`). */
  trustDomain: z
    .string()
    .superRefine((td, ctx) => {
      const problem = trustDomainProblem(td);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('switchyard.local'),
  /** The `ns` segment of the SPIFFE IDs. @default "default" */
  namespace: segment.default('default'),
  /** Lifetime of each workload certificate (at least 1s). @default "1h" */
  ttl: zDuration()
    .refine((ms) => ms >= 1000, 'expected at least 1s')
    .default(HOUR),
  /** When a certificate is renewed, as a fraction of its lifetime (more than 0, less than 1). @default 2/3 */
  renewAt: z
    .number()
    .gt(0, 'expected a fraction more than 0 and less than 1')
    .lt(1, 'expected a fraction more than 0 and less than 1')
    .default(2 / 3),
  /**
   * Per service, who may call it: service names (`gateway` is the gateway) and SPIFFE IDs or
   * patterns (`spiffe://td/ns/default/sa/*`). A service listed here accepts exactly these;
   * one not listed accepts the gateway and the services whose `dependsOn` names it.
   */
  allow: z.record(z.string(), z.array(z.string().min(1, 'expected a service name or a SPIFFE ID')).min(1)).default({}),
});

/**
 * Schema of `mtls:`: `true` (every default), `false` (off, as when absent), or
 * {@link upMtlsObjectSchema}. Cross-field checks (`allow` naming declared services) are
 * {@link mtlsConfigIssues}.
 */
export const upMtlsSchema = z.union([z.boolean(), upMtlsObjectSchema]);

/** `mtls:` after validation. */
export type UpMtlsConfig = z.output<typeof upMtlsSchema>;

/** `mtls:` resolved: on, every field filled in, allow rules as SPIFFE IDs or patterns. */
export interface ResolvedUpMtls {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly ttlMs: number;
  readonly renewAt: number;
  /** Per declared service, the SPIFFE IDs and patterns allowed to call it. */
  readonly allow: Readonly<Record<string, readonly string[]>>;
}

interface MtlsConfigView {
  readonly mtls?: UpMtlsConfig | undefined;
  readonly services: Readonly<Record<string, { readonly dependsOn: readonly string[] }>>;
}

/**
 * Checks of `mtls:` against the rest of the config: `allow` keys must be declared services,
 * entries declared services, `gateway` or valid SPIFFE IDs or patterns of the trust domain,
 * and no service may be named `gateway` (that SPIFFE ID is the gateway's).
 *
 * @example
 * ```ts
 * mtlsConfigIssues({ mtls: { ...defaults, allow: { ordres: ['gateway'] } }, services: { orders } });
 * // [{ path: ['mtls', 'allow', 'ordres'], message: 'expected a service declared in services: (orders)' }]
 * ```
 */
export function mtlsConfigIssues(config: MtlsConfigView): { path: (string | number)[]; message: string }[] {
  const mtls = config.mtls;
  if (mtls === undefined || mtls === false) return [];
  const issues: { path: (string | number)[]; message: string }[] = [];
  const names = Object.keys(config.services);
  const known = names.length === 0 ? 'none declared' : names.join(', ');
  if (names.includes(GATEWAY_SERVICE_ACCOUNT)) {
    issues.push({
      path: ['services', GATEWAY_SERVICE_ACCOUNT],
      message: `with mtls on, "${GATEWAY_SERVICE_ACCOUNT}" names the gateway's SPIFFE ID: rename the service`,
    });
  }
  if (mtls === true) return issues;
  for (const [service, entries] of Object.entries(mtls.allow)) {
    if (!names.includes(service)) {
      issues.push({ path: ['mtls', 'allow', service], message: `expected a service declared in services: (${known})` });
    }
    entries.forEach((entry, i) => {
      const path = ['mtls', 'allow', service, i];
      if (entry.startsWith('spiffe://')) {
        const problem = spiffePatternProblem(entry);
        if (problem !== undefined) issues.push({ path, message: `${JSON.stringify(entry)}: ${problem}` });
        else if (!entry.startsWith(`spiffe://${mtls.trustDomain}/`)) {
          issues.push({
            path,
            message: `${JSON.stringify(entry)} is not in the trust domain "${mtls.trustDomain}": the local CA issues no other`,
          });
        }
      } else if (entry !== GATEWAY_SERVICE_ACCOUNT && !names.includes(entry)) {
        issues.push({
          path,
          message: `${JSON.stringify(entry)}: expected "${GATEWAY_SERVICE_ACCOUNT}", a declared service (${known}) or a spiffe:// ID`,
        });
      }
    });
  }
  return issues;
}

/**
 * Resolves `mtls:`: `undefined` when off, otherwise every field, with each service's allow
 * list turned into SPIFFE IDs. The default for a service not in `allow`: the gateway and the
 * services that declare it in `dependsOn`.
 *
 * @example
 * ```ts
 * resolveUpMtls({ mtls: true, services: { orders: { dependsOn: [] }, cart: { dependsOn: ['orders'] } } })?.allow.orders;
 * // ['spiffe://switchyard.local/ns/default/sa/gateway', 'spiffe://switchyard.local/ns/default/sa/cart']
 * ```
 */
export function resolveUpMtls(config: MtlsConfigView): ResolvedUpMtls | undefined {
  const mtls = config.mtls;
  if (mtls === undefined || mtls === false) return undefined;
  const options = mtls === true ? upMtlsObjectSchema.parse({}) : mtls;
  const idOf = (name: string): string => spiffeIdOf(options.trustDomain, options.namespace, name);
  const allow: Record<string, readonly string[]> = {};
  for (const service of Object.keys(config.services)) {
    const given = options.allow[service];
    const callers = given ?? [
      GATEWAY_SERVICE_ACCOUNT,
      ...Object.entries(config.services)
        .filter(([, other]) => other.dependsOn.includes(service))
        .map(([name]) => name),
    ];
    allow[service] = Object.freeze([
      ...new Set(callers.map((entry) => (entry.startsWith('spiffe://') ? entry : idOf(entry)))),
    ]);
  }
  return Object.freeze({
    trustDomain: options.trustDomain,
    namespace: options.namespace,
    ttlMs: options.ttl,
    renewAt: options.renewAt,
    allow: Object.freeze(allow),
  });
}

/**
 * The SPIFFE ID `up` issues a service: `spiffe://<trustDomain>/ns/<namespace>/sa/<service>`.
 *
 * @example
 * ```ts
 * spiffeIdOf('switchyard.local', 'default', 'orders'); // 'spiffe://switchyard.local/ns/default/sa/orders'
 * ```
 */
export function spiffeIdOf(trustDomain: string, namespace: string, service: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${service}`;
}

/** Input of {@link startSystemMtls}. */
export interface SystemMtlsInput {
  readonly mtls: ResolvedUpMtls;
  /** The system's data directory: the CA lives in `ca/`, instance files in `mtls/<instance>/`. */
  readonly dataDir: string;
  /** Every instance `up` will run: its service and id (`orders`, `orders-1`). */
  readonly instances: readonly { readonly service: string; readonly id: string }[];
  /** Told of renewals that failed (the previous certificate stays in use and renewal is retried). */
  readonly onError: (message: string) => void;
}

/** The running certificate authority of `up`; see {@link startSystemMtls}. */
export interface SystemMtls {
  /** The trust domain's root certificate, PEM. */
  readonly rootCertPem: string;
  /** Where the CA keeps its root (`root-cert.pem`, `root-key.pem` with mode 0600). */
  readonly caDir: string;
  /** The in-process gateway's identity (`.../sa/gateway`), renewed in memory. */
  readonly gatewayIdentity: RotatingIdentity;
  /** SPIFFE IDs or patterns the gateway accepts from instances: any workload of the namespace. */
  readonly gatewayExpect: readonly string[];
  /**
   * The environment handing an instance its identity: `SWITCHYARD_TLS_CERT_FILE`,
   * `SWITCHYARD_TLS_KEY_FILE`, `SWITCHYARD_TLS_CA_FILE`, `SWITCHYARD_SPIFFE_ID`,
   * `SWITCHYARD_MTLS_ALLOW` and `SWITCHYARD_TLS_POLL_INTERVAL`.
   */
  envFor(service: string, id: string): Readonly<Record<string, string>>;
  /** Stops renewing. Idempotent. */
  close(): Promise<void>;
}

/**
 * Loads (or creates) the local CA under `<dataDir>/ca`, issues the gateway and every instance
 * a certificate, writes each instance's files into `<dataDir>/mtls/<instance>/` and rewrites
 * them at `renewAt` of each certificate's lifetime. Instances re-read their files at least
 * four times within the margin left before expiry, so a renewal is picked up while the
 * previous certificate is still valid.
 *
 * @throws SwitchyardError `SY_MESH_CA_LOAD_FAILED` (an unusable or foreign root in `ca/`),
 *   `SY_MESH_CA_ROOT_EXPIRED`
 * @example
 * ```ts
 * const mtls = await startSystemMtls({ mtls: resolved, dataDir, instances, onError: console.error });
 * mtls.envFor('orders', 'orders-1').SWITCHYARD_TLS_CERT_FILE; // '<dataDir>/mtls/orders-1/cert.pem'
 * ```
 */
export async function startSystemMtls(input: SystemMtlsInput): Promise<SystemMtls> {
  const { mtls, dataDir } = input;
  const caDir = join(dataDir, 'ca');
  const ca = await createLocalCa({ trustDomain: mtls.trustDomain, dir: caDir, workloadTtl: mtls.ttlMs });
  const identities: RotatingIdentity[] = [];
  const envs = new Map<string, Readonly<Record<string, string>>>();
  // The margin between a renewal and the expiry of the certificate it replaces, read 4 times.
  const pollMs = Math.max(50, Math.min(1000, Math.floor((mtls.ttlMs * (1 - mtls.renewAt)) / 4)));
  const closeAll = (): void => {
    for (const identity of identities) identity.close();
  };
  const issue = async (service: string): Promise<RotatingIdentity> => {
    const identity = await ca.workloadIdentity({
      namespace: mtls.namespace,
      serviceAccount: service,
      renewAt: mtls.renewAt,
    });
    identities.push(identity);
    identity.onError((err) => input.onError(err.message));
    return identity;
  };
  try {
    const gatewayIdentity = await issue(GATEWAY_SERVICE_ACCOUNT);
    for (const { service, id } of input.instances) {
      const identity = await issue(service);
      const dir = join(dataDir, 'mtls', id);
      const files = await writeIdentityFiles(dir, identity.current());
      identity.onRotate((next) => {
        writeIdentityFiles(dir, next).catch((err: unknown) =>
          input.onError(`writing the renewed certificate of ${id} to ${dir} failed: ${(err as Error).message}`),
        );
      });
      envs.set(
        id,
        Object.freeze({
          [MtlsEnv.CertFile]: files.certFile,
          [MtlsEnv.KeyFile]: files.keyFile,
          [MtlsEnv.CaFile]: files.caFile,
          [MtlsEnv.SpiffeId]: identity.current().spiffeId,
          [MtlsEnv.Allow]: (mtls.allow[service] ?? []).join(','),
          [MtlsEnv.PollInterval]: String(pollMs),
        }),
      );
    }
    let closed = false;
    return {
      rootCertPem: ca.rootCertPem,
      caDir,
      gatewayIdentity,
      gatewayExpect: [`spiffe://${mtls.trustDomain}/ns/${mtls.namespace}/sa/*`],
      envFor(service, id) {
        const env = envs.get(id);
        if (env === undefined) throw new Error(`no certificate was issued for ${service} instance ${id}`);
        return env;
      },
      async close() {
        if (closed) return;
        closed = true;
        closeAll();
      },
    };
  } catch (err) {
    closeAll();
    throw err;
  }
}
