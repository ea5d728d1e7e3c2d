import type { PeerCertificate } from 'node:tls';
import {
  type IdentitySubscription,
  invalidConfig,
  matchesSpiffePattern,
  spiffeIdOfSubjectAltName,
  spiffePatternProblem,
  type WorkloadIdentity,
  type WorkloadIdentitySource,
} from '@switchyard/core';
import { type Agent, Dispatcher } from 'undici';

/**
 * Mutual TLS for a client: the `mtls` option of `createHttpClient`.
 *
 * @example
 * ```ts
 * const mtls: ClientMtlsOptions = { identity, expect: ['spiffe://shop.local/ns/default/sa/*'] };
 * ```
 */
export interface ClientMtlsOptions {
  /** The client's certificate, key and CA bundle; a rotation applies to new connections. */
  identity: WorkloadIdentitySource;
  /**
   * SPIFFE IDs (or patterns with `*` segments) the instances must present. Without it any
   * certificate from the CA is accepted. Either way the instance's host name is not checked
   * against its certificate: with SPIFFE the identity is the URI SAN, not the address.
   */
  expect?: readonly string[];
}

/** The `mtls` field `createHttpClient` accepts besides {@link HttpClientOptions}. */
export interface HttpClientMtlsOption {
  /**
   * Call `https` instances (`meta.scheme: "https"`) with mutual TLS: present `identity`'s
   * certificate, verify theirs against its CA and `expect`. Cannot be combined with `dispatcher`.
   */
  readonly mtls?: ClientMtlsOptions;
}

/**
 * Checks `mtls` options.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`client.mtls.expect[0]: ...`)
 * @example
 * ```ts
 * resolveClientMtlsOptions({ identity, expect: ['spiffe://td/ns/default/sa/orders'] });
 * ```
 */
export function resolveClientMtlsOptions(input: ClientMtlsOptions, root = 'client.mtls'): Readonly<ClientMtlsOptions> {
  const issues: { path: string; message: string }[] = [];
  const identity = input?.identity;
  if (
    identity === null ||
    typeof identity !== 'object' ||
    typeof identity.current !== 'function' ||
    typeof identity.onRotate !== 'function'
  ) {
    issues.push({
      path: `${root}.identity`,
      message:
        'expected a workload identity source ({ current(), onRotate(listener) }), such as createLocalCa().workloadIdentity()',
    });
  }
  const expect = input?.expect;
  if (expect !== undefined) {
    if (!Array.isArray(expect) || expect.length === 0) {
      issues.push({ path: `${root}.expect`, message: 'expected a non-empty list of SPIFFE IDs or patterns' });
    } else {
      expect.forEach((pattern: unknown, i) => {
        const problem = typeof pattern === 'string' ? spiffePatternProblem(pattern) : 'expected a string';
        if (problem !== undefined)
          issues.push({ path: `${root}.expect[${i}]`, message: `${JSON.stringify(pattern)}: ${problem}` });
      });
    }
  }
  if (issues.length > 0) throw invalidConfig(issues);
  return Object.freeze({ identity, ...(expect === undefined ? {} : { expect: Object.freeze([...expect]) }) });
}

/**
 * `checkServerIdentity` for mutual TLS with SPIFFE (X509-SVID §5.2): the chain was verified
 * against the CA already; the certificate must carry one SPIFFE ID, matching `expect` when given.
 * A failure carries `ERR_TLS_CERT_ALTNAME_INVALID`, like a host name mismatch: the instance is
 * not the one asked for, and the attempt may go to another.
 */
function spiffeServerCheck(expect: readonly string[] | undefined) {
  return (host: string, cert: PeerCertificate): Error | undefined => {
    const spiffeId = spiffeIdOfSubjectAltName(cert.subjectaltname);
    if (spiffeId === undefined) {
      return Object.assign(
        new Error(`the certificate of ${host} carries no SPIFFE ID (exactly one spiffe:// URI SAN is required)`),
        { code: 'ERR_TLS_CERT_ALTNAME_INVALID', host },
      );
    }
    if (expect !== undefined && !expect.some((pattern) => matchesSpiffePattern(spiffeId, pattern))) {
      return Object.assign(new Error(`${host} presented ${spiffeId}, not one of ${expect.join(', ')}`), {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
        host,
        spiffeId,
      });
    }
    return undefined;
  };
}

/**
 * An undici dispatcher for mutual TLS that follows identity rotation; see {@link createMtlsDispatcher}.
 *
 * @example
 * ```ts
 * const dispatcher: MtlsDispatcher = createMtlsDispatcher({ identity }, (tls) => createDefaultDispatcher({ tls }));
 * dispatcher.rotations; // 0, then 1 after the first renewal
 * ```
 */
export class MtlsDispatcher extends Dispatcher {
  #current: Agent;
  readonly #make: (identity: WorkloadIdentity) => Agent;
  readonly #retiring = new Set<Promise<void>>();
  readonly #subscription: IdentitySubscription;
  #closed = false;
  #rotations = 0;

  /** @internal use {@link createMtlsDispatcher} */
  constructor(identity: WorkloadIdentitySource, make: (identity: WorkloadIdentity) => Agent) {
    super();
    this.#make = make;
    this.#current = make(identity.current());
    this.#subscription = identity.onRotate((next) => this.#rotate(next));
  }

  /** How many times the certificate was swapped in. */
  get rotations(): number {
    return this.#rotations;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#current.dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = this.#end(() => this.#current.close());
    if (callback === undefined) return done;
    done.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    const err = typeof errOrCallback === 'function' ? null : (errOrCallback ?? null);
    const cb = typeof errOrCallback === 'function' ? errOrCallback : callback;
    const done = this.#end(() => this.#current.destroy(err));
    if (cb === undefined) return done;
    done.then(cb, cb);
  }

  #end(stop: () => Promise<void>): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#subscription.dispose();
    }
    return Promise.all([stop(), ...this.#retiring]).then(() => {});
  }

  /**
   * New requests go to an agent with the new certificate; the old agent closes once the
   * requests it holds have finished (undici's `close()` waits for them), so a rotation fails
   * nothing in flight.
   */
  #rotate(identity: WorkloadIdentity): void {
    if (this.#closed) return;
    const old = this.#current;
    this.#current = this.#make(identity);
    this.#rotations++;
    const retiring: Promise<void> = old.close().then(
      () => {
        this.#retiring.delete(retiring);
      },
      () => {
        this.#retiring.delete(retiring);
      },
    );
    this.#retiring.add(retiring);
  }
}

/**
 * A dispatcher for calling instances over mutual TLS: each connection presents the current
 * certificate of `identity` and verifies the instance's against the CA bundle and `expect`.
 * When the identity rotates, new connections use the new certificate while the previous
 * connections finish what they carry and close. `createHttpClient({ mtls })` makes one and
 * closes it with the client.
 *
 * @param agentFor builds an undici `Agent` from TLS connect options (`createDefaultDispatcher`'s)
 * @throws SwitchyardError `SY_CONFIG_INVALID` (`client.mtls.expect[0]: ...`)
 * @example
 * ```ts
 * const dispatcher = createMtlsDispatcher({ identity }, (tls) => createDefaultDispatcher({ tls }));
 * ```
 */
export function createMtlsDispatcher(
  options: ClientMtlsOptions,
  agentFor: (tls: MtlsConnectOptions) => Agent,
): MtlsDispatcher {
  const { identity, expect } = resolveClientMtlsOptions(options);
  const checkServerIdentity = spiffeServerCheck(expect);
  return new MtlsDispatcher(identity, (current) =>
    agentFor({
      ca: current.caPem,
      cert: current.certPem,
      key: current.keyPem,
      rejectUnauthorized: true,
      checkServerIdentity,
    }),
  );
}

/** TLS connect options of a mutual TLS connection. */
export interface MtlsConnectOptions {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly rejectUnauthorized: true;
  readonly checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}
