/**
 * The Switchyard dashboard: a web page over the admin API of `switchyard up` (services and
 * instances, breakers, rate limits, RED charts per route, sagas with their history and
 * operator actions, traces as waterfalls), live through `/admin/events`.
 *
 * The page is hand-written static files (HTML, CSS and native ES modules) in
 * {@link dashboardAssetsDir}: nothing is built or downloaded at run time, and the page reads
 * only the admin API over HTTP. A server serves the directory's `index.html` at `/` and every
 * file under `/dashboard/`.
 *
 * @example
 * ```ts
 * import { join } from 'node:path';
 * import { dashboardAssetsDir } from '@switchyard/dashboard';
 *
 * const indexHtml = join(dashboardAssetsDir, 'index.html');
 * ```
 *
 * @packageDocumentation
 */
import { fileURLToPath } from 'node:url';

/**
 * The directory holding the dashboard's static files (`index.html` and what it loads), with a
 * trailing slash.
 *
 * @example
 * ```ts
 * const html = await readFile(new URL('index.html', pathToFileURL(dashboardAssetsDir)), 'utf8');
 * ```
 */
export const dashboardAssetsDir: string = fileURLToPath(new URL('../assets/', import.meta.url));
