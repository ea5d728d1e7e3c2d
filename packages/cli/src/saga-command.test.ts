import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  renderTimeline,
  runSagaAction,
  runSagaList,
  runSagaShow,
  type SagaCommandIo,
  SagaExit,
} from './saga-command.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-saga-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** An io whose fetch answers `status` with `body`, recording what was asked. */
function fakeIo(status: number, body: unknown, env: Record<string, string> = {}) {
  const seen: Seen[] = [];
  let out = '';
  let err = '';
  const io: SagaCommandIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    env,
    fetch: async (input, init) => {
      seen.push({
        url: String(input),
        method: init?.method ?? 'GET',
        headers: (init?.headers ?? {}) as Record<string, string>,
        body: init?.body as string | undefined,
      });
      return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    },
  };
  return { io, seen, out: () => out, err: () => err };
}

const saga = {
  id: 'o-1',
  name: 'order',
  status: 'compensated',
  createdAt: Date.UTC(2026, 0, 1),
  updatedAt: Date.UTC(2026, 0, 1, 0, 0, 1),
  version: 9,
  error: { code: 'SY_SHOP_PAYMENT_DECLINED', message: 'over the limit' },
};

describe('switchyard saga', () => {
  it('ls reads the admin URL from the config, sends the token and the filters, prints a table', async () => {
    const file = join(dir, 'switchyard.yaml');
    writeFileSync(file, 'version: 1\ngateway: { routes: [] }\nadmin: { host: 127.0.0.1, port: 9123 }\n');
    const t = fakeIo(200, { sagas: [saga], nextCursor: 'abc' }, { SWITCHYARD_ADMIN_TOKEN: 'tok' });
    const code = await runSagaList({ config: file, status: 'parked', name: 'order', limit: '5' }, t.io);
    assert.equal(code, SagaExit.Ok, t.err());
    assert.equal(t.seen[0]?.url, 'http://127.0.0.1:9123/admin/sagas?status=parked&name=order&limit=5');
    assert.equal(t.seen[0]?.headers.authorization, 'Bearer tok');
    assert.match(t.out(), /^ID\s+NAME\s+STATUS\s+UPDATED\s+ERROR$/m);
    assert.match(t.out(), /^o-1\s+order\s+compensated\s+2026-01-01T00:00:01\.000Z\s+SY_SHOP_PAYMENT_DECLINED$/m);
    assert.match(t.out(), /--cursor abc/);
  });

  it('--json prints what the admin API returned', async () => {
    const t = fakeIo(200, { sagas: [saga] });
    assert.equal(await runSagaList({ config: 'x', admin: 'http://127.0.0.1:1', json: true }, t.io), 0);
    assert.deepEqual(JSON.parse(t.out()), { sagas: [saga] });
  });

  it('exits 2 for bad flags and a config with admin: false, before calling anything', async () => {
    const t = fakeIo(200, {});
    assert.equal(await runSagaList({ config: 'x', admin: 'http://a', status: 'sideways' }, t.io), SagaExit.Usage);
    assert.equal(await runSagaList({ config: 'x', admin: 'http://a', limit: '0' }, t.io), SagaExit.Usage);
    assert.equal(await runSagaList({ config: 'x', admin: 'not a url' }, t.io), SagaExit.Usage);
    assert.equal(await runSagaAction('abort', 'o-1', { config: 'x', admin: 'http://a' }, t.io), SagaExit.Usage);
    assert.match(t.err(), /abort needs --reason/);
    const off = join(dir, 'off.yaml');
    writeFileSync(off, 'version: 1\ngateway: { routes: [] }\nadmin: false\n');
    assert.equal(await runSagaList({ config: off }, t.io), SagaExit.Usage);
    assert.match(t.err(), /admin is false/);
    assert.equal(await runSagaList({ config: join(dir, 'missing.yaml') }, t.io), SagaExit.Usage);
    assert.equal(t.seen.length, 0);
  });

  it('maps answers to exit codes: 404 -> 3, 409 -> 4, sagas not configured -> 2, 401 -> 1', async () => {
    const cases: Array<[number, string, number]> = [
      [404, 'SY_SAGA_NOT_FOUND', SagaExit.NotFound],
      [409, 'SY_SAGA_NOT_PARKED', SagaExit.Conflict],
      [404, 'SY_CLI_SAGAS_NOT_CONFIGURED', SagaExit.Usage],
      [401, 'SY_GATEWAY_ADMIN_UNAUTHORIZED', SagaExit.Failed],
      [500, 'SY_CLI_ADMIN_INTERNAL', SagaExit.Failed],
    ];
    for (const [status, code, exit] of cases) {
      const t = fakeIo(status, { error: { code, message: 'm' } });
      assert.equal(await runSagaAction('retry', 'o-1', { config: 'x', admin: 'http://a' }, t.io), exit, code);
      assert.match(t.err(), new RegExp(`error ${code}: m`));
    }
    const t = fakeIo(200, { saga: { ...saga, status: 'running' } });
    assert.equal(
      await runSagaAction('retry', 'o/1', { config: 'x', admin: 'http://a/', reason: 'back' }, t.io),
      SagaExit.Ok,
    );
    assert.equal(t.seen[0]?.url, 'http://a/admin/sagas/o%2F1/retry');
    assert.equal(t.seen[0]?.method, 'POST');
    assert.deepEqual(JSON.parse(t.seen[0]?.body ?? ''), { reason: 'back' });
  });

  it('exits 1 when the admin API is unreachable and says how to start it', async () => {
    let err = '';
    const io: SagaCommandIo = { out: () => undefined, err: (t) => (err += t), env: {}, fetch };
    // Port 9 (discard) on loopback: nothing listens there.
    assert.equal(await runSagaShow('o-1', { config: 'my.yaml', admin: 'http://127.0.0.1:9' }, io), SagaExit.Failed);
    assert.match(err, /SY_CLI_ADMIN_UNREACHABLE: cannot reach the admin API at http:\/\/127\.0\.0\.1:9/);
    assert.match(err, /switchyard up -c my\.yaml/);
  });

  it('show renders a timeline with compensations marked', () => {
    const text = renderTimeline(saga, [
      { seq: 1, kind: 'saga.started', at: saga.createdAt },
      { seq: 2, kind: 'step.done', at: saga.createdAt + 5, step: 'reserve' },
      { seq: 3, kind: 'step.failed', at: saga.createdAt + 9, step: 'charge', attempt: 2, error: saga.error },
      { seq: 4, kind: 'compensation.done', at: saga.createdAt + 12, step: 'reserve' },
      { seq: 5, kind: 'saga.compensated', at: saga.createdAt + 13 },
    ]);
    assert.match(text, /^saga o-1 {2}order {2}COMPENSATED$/m);
    assert.match(text, /^ {2}error {3}SY_SHOP_PAYMENT_DECLINED: over the limit$/m);
    assert.match(text, /^ {2}\+9ms\s+step FAILED\s+charge \(attempt 2\) SY_SHOP_PAYMENT_DECLINED: over the limit$/m);
    assert.match(text, /^ {2}\+12ms\s+<- compensated\s+reserve$/m);
  });
});
