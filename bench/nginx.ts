import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `nginx.conf` into `dir` for nginx as the benchmarks' peer: one worker, in the
 * foreground, a keep-alive reverse proxy to `127.0.0.1:<upstreamPort>` (64 pooled upstream
 * connections, HTTP/1.1 with `Connection` cleared), every file it writes kept in `dir`.
 * `server` holds the server block's own directives (`listen`, TLS, keep-alive), `location`
 * extra directives for `location /`. Returns the file's path.
 *
 * @example
 * ```ts
 * const conf = writeNginxProxyConfig(dir, { upstreamPort, server: [`listen 127.0.0.1:${port};`] });
 * spawn('nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')]);
 * ```
 */
export function writeNginxProxyConfig(
  dir: string,
  options: { readonly upstreamPort: number; readonly server: readonly string[]; readonly location?: readonly string[] },
): string {
  const conf = join(dir, 'nginx.conf');
  const indent = (lines: readonly string[], by: string) => lines.map((line) => `${by}${line}\n`).join('');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream backend {
    server 127.0.0.1:${options.upstreamPort};
    keepalive 64;
  }
  server {
${indent(options.server, '    ')}    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
${indent(options.location ?? [], '      ')}    }
  }
}
`,
  );
  return conf;
}
