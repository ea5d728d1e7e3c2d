/**
 * Test support (not exported): tiny Greeter gRPC backends that answer with their instance id, and
 * a child process running a proxyless `@grpc/grpc-js-xds` client against an xDS server. The
 * client runs in its own process because grpc-js-xds reads its bootstrap once per process.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const greeterProto = `syntax = "proto3";
package switchyard.test;
service Greeter { rpc SayHello (HelloRequest) returns (HelloReply); }
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
`;

/** Writes greeter.proto to a fresh temp dir; `dispose` removes it. */
export function writeGreeterProto(): { path: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sy-xds-'));
  const path = join(dir, 'greeter.proto');
  writeFileSync(path, greeterProto);
  return { path, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A Greeter backend on 127.0.0.1, port chosen by the OS. */
export interface GreeterBackend {
  readonly id: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a Greeter whose replies carry `id`. */
export async function startGreeter(protoPath: string, id: string): Promise<GreeterBackend> {
  const definition = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { keepCase: true }));
  const pkg = (definition.switchyard as grpc.GrpcObject).test as grpc.GrpcObject;
  const Greeter = pkg.Greeter as grpc.ServiceClientConstructor;
  const server = new grpc.Server();
  server.addService(Greeter.service, {
    SayHello: (_call: unknown, callback: grpc.sendUnaryData<{ message: string }>) => callback(null, { message: id }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    id,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}

// Runs in the child: one line in ("<n>") makes n sequential calls, one JSON line out (reply -> count).
const clientScript = `
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import xds from '@grpc/grpc-js-xds';
import { createInterface } from 'node:readline';
xds.register();
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(process.env.GREETER_PROTO, { keepCase: true }));
const client = new pkg.switchyard.test.Greeter(process.env.GREETER_TARGET, grpc.credentials.createInsecure());
const call = () => new Promise((resolve) => client.SayHello({ name: 'xds' }, { deadline: Date.now() + 3000 },
  (err, reply) => resolve(err ? 'error:' + grpc.status[err.code] : reply.message)));
for await (const line of createInterface({ input: process.stdin })) {
  const counts = {};
  for (let i = 0; i < Number(line); i++) { const r = await call(); counts[r] = (counts[r] ?? 0) + 1; }
  process.stdout.write(JSON.stringify(counts) + '\\n');
}
client.close();
`;

/** The package root, so the child resolves `@grpc/*` as the package does. */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A proxyless gRPC client in a child process. */
export interface XdsGreeterClient {
  /** Makes `n` sequential calls; resolves with reply -> count (`error:UNAVAILABLE` for failures). */
  calls(n: number, timeoutMs?: number): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Spawns a grpc-js-xds client whose bootstrap points at `xdsAddress`, dialing `xds:///<service>`. */
export function spawnXdsGreeterClient(xdsAddress: string, protoPath: string, service = 'greeter'): XdsGreeterClient {
  const bootstrap = {
    xds_servers: [{ server_uri: xdsAddress, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: `sy-test-${process.pid}`, cluster: 'switchyard-test', locality: { zone: 'local' } },
  };
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--input-type=module', '-e', clientScript], {
    cwd: packageRoot,
    env: {
      ...process.env,
      GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap),
      GREETER_PROTO: protoPath,
      GREETER_TARGET: `xds:///${service}`,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async calls(n, timeoutMs = 15_000) {
      child.stdin.write(`${n}\n`);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`xds client: no answer in ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
      });
      try {
        const next = await Promise.race([lines.next(), deadline]);
        if (next.done === true) throw new Error(`xds client exited; stderr: ${stderr}`);
        return JSON.parse(next.value) as Record<string, number>;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
