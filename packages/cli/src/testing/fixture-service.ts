/**
 * A tiny service for the supervisor's tests, run as a child of `switchyard up`. It serves
 * `GET /health` and `GET /pid` on a free port and registers with the registry from
 * `SWITCHYARD_REGISTRY_URL` with an HTTP check (sending `SWITCHYARD_REGISTRY_TOKEN` as
 * `X-Consul-Token` when set). Its behaviour comes from the environment:
 *
 * - `FIXTURE_LOG`: a file it appends `<instance> start <ms>` and `<instance> healthy <ms>` to;
 * - `FIXTURE_DELAY_MS`: wait this long before listening and registering (a slow start);
 * - `FIXTURE_CRASH_FROM_START`: from this start number on (counted in `FIXTURE_LOG`), print
 *   `boom on start <n>` and exit 3 at once;
 * - `FIXTURE_JSON_LINE`: print this line (a pino-style JSON object) once registered.
 *
 * SIGTERM exits 0, SIGUSR2 exits 0 too (a clean exit the test can trigger).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const id = process.env.SWITCHYARD_INSTANCE_ID ?? `fixture-${process.pid}`;
const name = process.env.SWITCHYARD_SERVICE_NAME ?? 'fixture';
const logFile = process.env.FIXTURE_LOG;
const note = (what: string) => {
  if (logFile) appendFileSync(logFile, `${id} ${what} ${Date.now()}\n`);
};

let starts = 1;
if (logFile) {
  try {
    starts += readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith(`${id} start `)).length;
  } catch {
    // first start: no file yet
  }
}
note('start');
console.log(`${id} starting (start ${starts}, pid ${process.pid})`);

const crashFrom = Number(process.env.FIXTURE_CRASH_FROM_START ?? 0);
if (crashFrom > 0 && starts >= crashFrom) {
  console.error(`boom on start ${starts}`);
  process.exit(3);
}

process.on('SIGTERM', () => process.exit(0));
process.on('SIGUSR2', () => process.exit(0));
process.on('disconnect', () => process.exit(0));

await new Promise((resolve) => setTimeout(resolve, Number(process.env.FIXTURE_DELAY_MS ?? 0)));

const server = createServer((req, res) => {
  if (req.url === '/pid') res.end(String(process.pid));
  else res.end('ok');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

const registry = process.env.SWITCHYARD_REGISTRY_URL;
if (registry) {
  // With `registry.acl`, `up` passes a write token, as `@switchyard/service` sends it.
  const token = process.env.SWITCHYARD_REGISTRY_TOKEN;
  const res = await fetch(`${registry}/v1/agent/service/register`, {
    method: 'PUT',
    headers: token ? { 'x-consul-token': token } : {},
    body: JSON.stringify({
      ID: id,
      Name: name,
      Address: '127.0.0.1',
      Port: port,
      Check: { HTTP: `http://127.0.0.1:${port}/health`, Interval: '1s', Timeout: '1s' },
    }),
  });
  if (!res.ok) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
}
note('healthy');
if (process.env.FIXTURE_JSON_LINE) console.log(process.env.FIXTURE_JSON_LINE);
console.log(`${id} listening on ${port}`);
