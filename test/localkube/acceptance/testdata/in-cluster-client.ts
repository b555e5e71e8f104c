// Runs inside a localkube pod: an in-cluster @kubernetes/client-node client
// (service account token, ca.crt, KUBERNETES_SERVICE_HOST/PORT) that tries to
// list the pods of its namespace every 200 ms and prints one JSON line per try.
// Test tooling for in-cluster.test.ts; it must never run outside a pod.
import fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';

const dir = '/var/run/secrets/kubernetes.io/serviceaccount';
const kc = new k8s.KubeConfig();
kc.loadFromDefault();
const core = kc.makeApiClient(k8s.CoreV1Api);
const namespace = fs.readFileSync(`${dir}/namespace`, 'utf8');
process.stdout.write(`${JSON.stringify({ server: kc.getCurrentCluster()?.server, namespace, host: process.env.KUBERNETES_SERVICE_HOST })}\n`);
for (;;) {
  try {
    const pods = await core.listNamespacedPod({ namespace });
    process.stdout.write(`${JSON.stringify({ list: 'ok', pods: pods.items.length })}\n`);
  } catch (e) {
    const err = e as { code?: number; body?: string; message?: string };
    process.stdout.write(`${JSON.stringify({ list: err.code ?? 'error', message: String(err.body ?? err.message).slice(0, 400) })}\n`);
  }
  await new Promise((r) => setTimeout(r, 200));
}
