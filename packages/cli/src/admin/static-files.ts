/**
 * Serves the dashboard's static files from one directory: `index.html` at `/` and
 * `/dashboard/`, every other file by its path under `/` or `/dashboard/`. Paths that leave the
 * directory (`..`, encoded or not, symlinks pointing out) are never served.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** The content type of a file name, `application/octet-stream` when unknown. */
export function contentTypeOf(file: string): string {
  return contentTypes[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file under `root` a URL path names, or `undefined` when it names none (missing, a
 * directory, outside `root`, or malformed).
 *
 * @example
 * ```ts
 * await staticFileFor('/srv/assets', '/'); // '/srv/assets/index.html'
 * await staticFileFor('/srv/assets', '/../etc/passwd'); // undefined
 * ```
 */
export async function staticFileFor(root: string, urlPath: string): Promise<string | undefined> {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (path.includes('\0') || path.includes('\\')) return undefined;
  if (path === '/dashboard') path = '/';
  else if (path.startsWith('/dashboard/')) path = path.slice('/dashboard'.length);
  if (path.endsWith('/')) path = `${path}index.html`;
  if (path.split('/').some((segment) => segment === '..')) return undefined;
  try {
    const base = await realpath(root);
    const file = await realpath(resolve(base, `.${path}`));
    if (!file.startsWith(`${base}${sep}`)) return undefined;
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/** Streams `file` as the response (HEAD: headers only). */
export async function sendStaticFile(file: string, res: ServerResponse, head: boolean): Promise<void> {
  const info = await stat(file);
  res.writeHead(200, {
    'content-type': contentTypeOf(file),
    'content-length': info.size,
    // index.html names the other files; it must be revalidated so a new build shows at once.
    'cache-control': file.endsWith('.html') ? 'no-cache' : 'public, max-age=300',
    'x-content-type-options': 'nosniff',
  });
  if (head) {
    res.end();
    return;
  }
  await new Promise<void>((resolvePromise, reject) => {
    const stream = createReadStream(file);
    stream.on('error', reject);
    res.on('close', () => resolvePromise());
    stream.pipe(res);
  });
}
