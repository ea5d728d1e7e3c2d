/**
 * A fake admin API for developing and testing the dashboard (and tools that read the admin
 * API) without a running system: {@link startFakeAdminServer} serves the dashboard's assets,
 * canned JSON for every GET of the admin contract, the saga retry/abort actions and the
 * `/admin/events` stream, with hooks to change the data and push events.
 *
 * @example
 * ```ts
 * import { startFakeAdminServer } from '@switchyard/dashboard/testing';
 *
 * const fake = await startFakeAdminServer();
 * // open `${fake.url}/` in a browser, then:
 * fake.setBreaker('payments', 'open', 0.8);
 * await fake.close();
 * ```
 */
export {
  type FakeAdminServer,
  type FakeAdminServerOptions,
  type FakeAdminState,
  type FakeSaga,
  type FakeSpan,
  type FakeTransition,
  fakeIds,
  startFakeAdminServer,
} from './fake-admin-server.ts';
