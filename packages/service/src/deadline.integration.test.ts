import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { deadlineOf, TIMEOUT_HEADER } from '@switchyard/resilience';
import { requestSignal } from './deadline.ts';
import { type RequestHandler, startService } from './start-service.ts';

const quiet = { info() {}, warn() {}, error() {} };

async function serve(t: TestContext, handler: RequestHandler) {
  const service = await startService({ name: 'deadlines', port: 0, handleSignals: false, logger: quiet, handler });
  t.after(() => service.close());
  return service;
}

/** Resolves when `signal` aborts, or rejects after `ms`: every wait has a deadline. */
function aborted(signal: AbortSignal, ms: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return resolve(signal.reason);
    const timer = setTimeout(() => reject(new Error(`signal did not abort within ${ms}ms`)), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(signal.reason);
    });
  });
}

describe('deadlines in @switchyard/service', () => {
  it('answers a spent budget with a JSON 504 without calling the handler', async (t) => {
    let calls = 0;
    const service = await serve(t, (_req, res) => {
      calls++;
      res.end('handled');
    });
    const res = await fetch(`${service.url}/work`, {
      method: 'POST',
      headers: { [TIMEOUT_HEADER]: '0' },
      body: 'payload',
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal(res.status, 504);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'SY_RESILIENCE_DEADLINE_EXCEEDED');
    assert.match(body.error.message, /already spent/);
    assert.equal(calls, 0);
  });

  it('answers a malformed budget with a JSON 400 naming the header', async (t) => {
    let calls = 0;
    const service = await serve(t, (_req, res) => {
      calls++;
      res.end();
    });
    for (const value of ['soon', '-5', '1.5', '100, 200']) {
      const res = await fetch(`${service.url}/work`, {
        headers: { [TIMEOUT_HEADER]: value },
        signal: AbortSignal.timeout(5_000),
      });
      assert.equal(res.status, 400, value);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'SY_SERVICE_BAD_TIMEOUT_HEADER', value);
      assert.match(body.error.message, /^switchyard-timeout-ms: /, value);
    }
    assert.equal(calls, 0);
    const repeated = await fetch(`${service.url}/work`, {
      headers: { [TIMEOUT_HEADER]: '100, 100' },
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal(repeated.status, 200, 'the same value repeated is not malformed');
  });

  it('gives the handler a signal carrying the deadline that aborts when the budget runs out', async (t) => {
    let seen: { deadline: number | undefined; before: number; after: number; same: boolean } | undefined;
    const service = await serve(t, async (req, res) => {
      const before = Date.now();
      const signal = requestSignal(req);
      seen = { deadline: deadlineOf(signal), before, after: Date.now(), same: requestSignal(req) === signal };
      const reason = await aborted(signal, 5_000);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ code: isSwitchyardError(reason) ? reason.code : String(reason) }));
    });
    const started = Date.now();
    const res = await fetch(`${service.url}/slow`, {
      headers: { [TIMEOUT_HEADER]: '200' },
      signal: AbortSignal.timeout(5_000),
    });
    const elapsed = Date.now() - started;
    assert.deepEqual(await res.json(), { code: 'SY_RESILIENCE_DEADLINE_EXCEEDED' });
    assert.ok(seen?.same, 'one signal per request');
    assert.ok(seen?.deadline !== undefined, 'the deadline is attached');
    assert.ok(seen.deadline <= seen.after + 200 && seen.deadline >= started + 200 - 50, String(seen.deadline));
    assert.ok(elapsed >= 150, `aborted after ${elapsed}ms, before the budget ran out`);
  });

  it('without the header, the signal has no deadline and aborts when the client disconnects', async (t) => {
    const arrived = Promise.withResolvers<AbortSignal>();
    const service = await serve(t, (req) => {
      arrived.resolve(requestSignal(req));
    });
    const client = httpRequest(`${service.url}/hold`, { agent: false });
    client.on('error', () => {});
    client.end();
    const signal = await arrived.promise;
    assert.equal(deadlineOf(signal), undefined);
    assert.equal(signal.aborted, false);
    client.destroy();
    const reason = await aborted(signal, 5_000);
    assert.ok(isSwitchyardError(reason, 'SY_CANCELLED'));
  });

  it('a request the service did not admit follows its header alone', () => {
    const req = { headers: { [TIMEOUT_HEADER]: '1000' } } as unknown as IncomingMessage;
    const before = Date.now();
    const signal = requestSignal(req);
    const deadline = deadlineOf(signal);
    assert.ok(deadline !== undefined && deadline >= before + 1000 && deadline <= Date.now() + 1000);
    assert.equal(requestSignal(req), signal);
    const spent = requestSignal({ headers: { [TIMEOUT_HEADER]: '0' } } as unknown as IncomingMessage);
    assert.ok(spent.aborted && isSwitchyardError(spent.reason, 'SY_RESILIENCE_DEADLINE_EXCEEDED'));
    const none = requestSignal({ headers: {} } as unknown as IncomingMessage);
    assert.equal(deadlineOf(none), undefined);
  });
});
