import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { clientError } from '@switchyard/client';
import { isSwitchyardError } from '@switchyard/core';
import { createCallLog } from './call-log.ts';
import { callService, isRetryableStepError, type ServiceClient } from './service-call.ts';

/** A client that answers every request with `status` and `text`, or rejects with `error`. */
function fakeClient(
  answer: { status: number; text: string } | { error: unknown },
): ServiceClient & { sent: unknown[] } {
  const sent: unknown[] = [];
  return {
    sent,
    async request(service, options) {
      sent.push({ service, ...options });
      if ('error' in answer) throw answer.error;
      return { statusCode: answer.status, body: { text: async () => answer.text } } as unknown as Awaited<
        ReturnType<ServiceClient['request']>
      >;
    },
  };
}

const call = { service: 'payments', method: 'POST', path: '/payments', body: { orderId: 'ord_1' } } as const;

describe('callService', () => {
  it('sends one attempt with the idempotency key and the trace headers, and returns a 2xx body', async () => {
    const client = fakeClient({ status: 201, text: '{"id":"pay_1"}' });
    const signal = new AbortController().signal;
    const body = await callService(client, { ...call, idempotencyKey: 'k', signal, headers: { traceparent: 't' } });
    assert.deepEqual(body, { id: 'pay_1' });
    assert.deepEqual(client.sent, [
      {
        service: 'payments',
        method: 'POST',
        path: '/payments',
        headers: { 'content-type': 'application/json', traceparent: 't' },
        body: '{"orderId":"ord_1"}',
        idempotencyKey: 'k',
        signal,
        retry: false,
      },
    ]);
  });

  it('turns a refusal into the service’s shop error, not retryable', async () => {
    const text =
      '{"error":{"code":"SY_SHOP_PAYMENT_DECLINED","message":"amount 1200 exceeds the limit of 1000","field":"amount"}}';
    await assert.rejects(
      callService(fakeClient({ status: 402, text }), {
        ...call,
        idempotencyKey: 'k',
        signal: AbortSignal.timeout(1000),
      }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_SHOP_PAYMENT_DECLINED') &&
        err.message === 'amount 1200 exceeds the limit of 1000' &&
        err.details?.field === 'amount' &&
        !isRetryableStepError(err),
    );
  });

  it('turns a 5xx or an unknown answer into SY_SHOP_UPSTREAM_FAILED, retryable', async () => {
    for (const answer of [
      { status: 503, text: 'busy' },
      { status: 418, text: '{"error":{"code":"TEAPOT","message":"no"}}' },
    ]) {
      await assert.rejects(
        callService(fakeClient(answer), { ...call, idempotencyKey: 'k', signal: AbortSignal.timeout(1000) }),
        (err: unknown) =>
          isSwitchyardError(err, 'SY_SHOP_UPSTREAM_FAILED') &&
          err.message.startsWith(`payments POST /payments answered ${answer.status}`) &&
          isRetryableStepError(err),
      );
    }
  });

  it('logs each attempt, and clears the mark only when the client certainly sent nothing', async () => {
    const log = createCallLog(new DatabaseSync(':memory:'));
    const attempt = (client: ServiceClient, sagaId: string) =>
      callService(client, {
        ...call,
        idempotencyKey: 'k',
        signal: AbortSignal.timeout(1000),
        log: [log, sagaId, 'charge'],
      }).catch(() => {});
    await attempt(fakeClient({ error: clientError('SY_CLIENT_NO_INSTANCE', 'none') }), 'saga-a');
    await attempt(fakeClient({ error: clientError('SY_CLIENT_CONNECT_FAILED', 'refused') }), 'saga-a');
    assert.equal(log.maybeSent('saga-a', 'charge'), false);
    await attempt(fakeClient({ error: clientError('SY_CLIENT_TIMEOUT', 'slow') }), 'saga-a');
    assert.equal(log.maybeSent('saga-a', 'charge'), true, 'a timed-out call may have taken effect');
    await attempt(fakeClient({ status: 402, text: '{}' }), 'saga-b');
    assert.equal(log.maybeSent('saga-b', 'charge'), true);
    assert.equal(log.maybeSent('saga-c', 'charge'), false);
  });
});
