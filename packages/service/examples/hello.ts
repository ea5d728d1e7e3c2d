import { startService } from '@switchyard/service';

const service = await startService({
  name: 'hello',
  handler: (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from ${service.id}\n`);
  },
  // or set SWITCHYARD_REGISTRY_URL; without either the service runs unregistered
  registry: process.env.REGISTRY_URL ?? 'http://127.0.0.1:8500',
});
console.log(`${service.id} listening on ${service.url}`);
