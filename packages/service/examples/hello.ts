import { startService } from '@switchyard/service';

// Registers with the registry named by SWITCHYARD_REGISTRY_URL (switchyard up sets it);
// pass `registry: 'http://127.0.0.1:8500'` to name one in code. Without either, it runs unregistered.
const service = await startService({
  name: 'hello',
  handler: (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from ${service.id}\n`);
  },
});
console.log(`${service.id} listening on ${service.url}`);
