import { createKubernetesDiscovery } from '@switchyard/adapter-kubernetes';
import { createDiscoveryClient } from '@switchyard/discovery';

// The cluster comes from KUBECONFIG, ~/.kube/config or, inside a pod, its service account.
const source = createKubernetesDiscovery({ namespace: 'shop', port: 'http' });
const discovery = createDiscoveryClient({ source });

for (const instance of await discovery.instances('orders')) {
  console.log(`${instance.id} ${instance.address}:${instance.port} zone=${instance.meta.zone}`);
}
await discovery.close(); // closes the source too: its watches are aborted
