/**
 * Test support for the integration tests (not exported by the package): the addresses of the
 * real servers and clean-up of what a test created, without importing a driver (drivers live in
 * adapters/ alone): `psql` for PostgreSQL, NATS's text protocol for JetStream.
 */
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';

/** The PostgreSQL database the tests use. */
export const TEST_POSTGRES_URL = process.env.SWITCHYARD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The NATS server (with JetStream) the tests use. */
export const TEST_NATS_URL = process.env.SWITCHYARD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
/** The RabbitMQ broker the tests use. */
export const TEST_AMQP_URL = process.env.SWITCHYARD_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A name no other test run uses: lower-case letters, digits and `_`. */
export function uniqueName(label: string): string {
  return `sy_test_${label}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Drops a PostgreSQL schema and everything in it, through `psql`. */
export function dropSchema(schema: string, url: string = TEST_POSTGRES_URL): void {
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', `DROP SCHEMA IF EXISTS "${schema}" CASCADE`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 10_000,
  });
}

/** Deletes a JetStream stream with one request over NATS's text protocol; resolves on the answer. */
export function deleteStream(stream: string, url: string = TEST_NATS_URL): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port || 4222), hostname);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from NATS at ${url} deleting stream ${stream} within 5 s`));
    }, 5000);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('data', () => {
      socket.write(
        `CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.sy_delete 1\r\nPUB $JS.API.STREAM.DELETE.${stream} _INBOX.sy_delete 0\r\n\r\n`,
      );
      socket.on('data', (chunk: string) => {
        received += chunk;
        if (received.includes('PING')) socket.write('PONG\r\n');
        if (received.includes('MSG _INBOX.sy_delete')) {
          clearTimeout(timer);
          socket.end();
          resolve();
        }
      });
    });
  });
}
