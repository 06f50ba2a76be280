/** The in-process cloud lab API server the controller integration tests start: the KServe CRDs served and the lab's ClusterServingRuntimes applied, as up.sh does. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, loadAllYaml, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../lab/cloud/apiserver/main.ts';
import { waitFor } from './wait.ts';

const ROOT = join(import.meta.dirname, '../..');
export const ISVC = { group: 'serving.kserve.io', version: 'v1beta1', plural: 'inferenceservices' };

export async function startLabApi(stateDir: string): Promise<{ api: ApiServer; custom: CustomObjectsApi; core: CoreV1Api }> {
  const api = await startApiServer({ stateDir, host: '127.0.0.1', port: 0 });
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  // loadAllYaml gives typed objects, so the client serializes x-kubernetes-* keys correctly
  for (const crd of loadAllYaml(readFileSync(join(ROOT, 'lab/cloud/manifests/kserve-crds.yaml'), 'utf8')) as V1CustomResourceDefinition[]) {
    if (crd?.kind === 'CustomResourceDefinition') await ext.createCustomResourceDefinition({ body: crd });
  }
  await waitFor('CRD served', async () => (await custom.listClusterCustomObject(ISVC)) as unknown as boolean);
  // the lab's ClusterServingRuntimes (stock-like Triton, custom lab-onnx-python), as up.sh applies them
  for (const rt of loadAllYaml(readFileSync(join(ROOT, 'lab/cloud/manifests/serving-runtimes.yaml'), 'utf8')) as { kind?: string }[]) {
    if (rt?.kind === 'ClusterServingRuntime') await custom.createClusterCustomObject({ group: 'serving.kserve.io', version: 'v1alpha1', plural: 'clusterservingruntimes', body: rt });
  }
  return { api, custom, core: kc.makeApiClient(CoreV1Api) };
}
