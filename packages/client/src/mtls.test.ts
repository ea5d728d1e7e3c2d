import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkloadIdentity, WorkloadIdentitySource } from '@switchyard/core';
import type { Agent, Dispatcher } from 'undici';
import { createDefaultDispatcher, createHttpClient } from './http-client.ts';
import { createMtlsDispatcher, type MtlsConnectOptions, resolveClientMtlsOptions } from './mtls.ts';

function identityOf(n: number): WorkloadIdentity {
  return {
    certPem: `cert-${n}`,
    keyPem: `key-${n}`,
    caPem: 'ca',
    spiffeId: 'spiffe://td/ns/default/sa/gateway',
    notAfter: n,
  };
}

/** A source rotated by hand. */
function manualSource(): WorkloadIdentitySource & { rotate(n: number): void; listeners: number } {
  let current = identityOf(1);
  const listeners = new Set<(identity: WorkloadIdentity) => void>();
  return {
    current: () => current,
    onRotate(listener) {
      listeners.add(listener);
      const dispose = () => {
        listeners.delete(listener);
      };
      return { dispose, [Symbol.dispose]: dispose };
    },
    rotate(n) {
      current = identityOf(n);
      for (const listener of listeners) listener(current);
    },
    get listeners() {
      return listeners.size;
    },
  };
}

/** An agent that records what it is asked, and whose close() waits until `finish()`. */
function fakeAgent(tls: MtlsConnectOptions) {
  let finish: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const agent = {
    tls,
    dispatched: 0,
    closeCalls: 0,
    finish,
    dispatch() {
      agent.dispatched++;
      return true;
    },
    close() {
      agent.closeCalls++;
      return closed;
    },
    destroy() {
      finish();
      return closed;
    },
  };
  return agent;
}

describe('createMtlsDispatcher', () => {
  it('sends new requests with the new certificate and closes the old agent gracefully', async () => {
    const source = manualSource();
    const agents: ReturnType<typeof fakeAgent>[] = [];
    const dispatcher = createMtlsDispatcher({ identity: source }, (tls) => {
      const agent = fakeAgent(tls);
      agents.push(agent);
      return agent as unknown as Agent;
    });
    const request = { origin: 'https://127.0.0.1:1', path: '/', method: 'GET' } as Dispatcher.DispatchOptions;
    const handler = {} as Dispatcher.DispatchHandler;
    dispatcher.dispatch(request, handler);
    assert.equal(agents.length, 1);
    assert.equal(agents[0]?.tls.cert, 'cert-1');
    assert.equal(agents[0]?.tls.key, 'key-1');
    assert.equal(agents[0]?.tls.ca, 'ca');
    assert.equal(agents[0]?.tls.rejectUnauthorized, true);

    source.rotate(2);
    assert.equal(dispatcher.rotations, 1);
    assert.equal(agents[1]?.tls.cert, 'cert-2');
    // The old agent is asked to close (undici lets its requests finish first) ...
    assert.equal(agents[0]?.closeCalls, 1);
    dispatcher.dispatch(request, handler);
    // ... and the new requests go to the new one.
    assert.equal(agents[0]?.dispatched, 1);
    assert.equal(agents[1]?.dispatched, 1);

    // close() waits for the retiring agent too.
    let closed = false;
    const closing = dispatcher.close().then(() => {
      closed = true;
    });
    agents[1]?.finish();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false);
    agents[0]?.finish();
    await closing;
    assert.equal(closed, true);
    // No more rotations once closed.
    assert.equal(source.listeners, 0);
  });

  it('checks the SPIFFE ID of instances instead of their host name', () => {
    const source = manualSource();
    let tls: MtlsConnectOptions | undefined;
    createMtlsDispatcher({ identity: source, expect: ['spiffe://td/ns/default/sa/*'] }, (options) => {
      tls = options;
      return fakeAgent(options) as unknown as Agent;
    });
    const check = tls?.checkServerIdentity;
    assert.ok(check);
    const cert = (san: string) => ({ subjectaltname: san }) as Parameters<typeof check>[1];
    assert.equal(check('10.0.0.5', cert('URI:spiffe://td/ns/default/sa/orders, DNS:orders')), undefined);
    const wrong = check('10.0.0.5', cert('URI:spiffe://td/ns/jobs/sa/orders'));
    assert.equal((wrong as { code?: string } | undefined)?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.match(
      wrong?.message ?? '',
      /10\.0\.0\.5 presented spiffe:\/\/td\/ns\/jobs\/sa\/orders, not one of spiffe:\/\/td\/ns\/default\/sa\/\*/,
    );
    assert.match(check('10.0.0.5', cert('DNS:orders'))?.message ?? '', /carries no SPIFFE ID/);
  });
});

describe('resolveClientMtlsOptions', () => {
  it('names the field at fault', () => {
    const identity = manualSource();
    assert.throws(
      () => resolveClientMtlsOptions({ identity, expect: ['spiffe://td/ns/default/sa/x', 'http://x'] }),
      (err: unknown) => {
        assert.equal((err as { code?: unknown }).code, 'SY_CONFIG_INVALID');
        assert.match(
          (err as Error).message,
          /client\.mtls\.expect\[1\]: "http:\/\/x": expected the "spiffe:\/\/" scheme/,
        );
        return true;
      },
    );
    assert.throws(
      () => resolveClientMtlsOptions({ identity, expect: [] }),
      /client\.mtls\.expect: expected a non-empty list/,
    );
    assert.throws(
      () => resolveClientMtlsOptions({ identity: {} as WorkloadIdentitySource }),
      /client\.mtls\.identity: expected a workload identity source/,
    );
  });

  it('cannot be combined with a dispatcher of the caller', async () => {
    const dispatcher = createDefaultDispatcher();
    try {
      assert.throws(
        () =>
          createHttpClient({
            discovery: { instances: async () => [] },
            dispatcher,
            mtls: { identity: manualSource() },
          }),
        /client\.mtls: cannot be combined with dispatcher/,
      );
    } finally {
      await dispatcher.close();
    }
  });
});
