// Writes the kubeconfig file kubectl and @kubernetes/client-node use to reach
// the local control plane (plain HTTP, so insecure-skip-tls-verify: true, which
// client-node requires for http:// servers). It must never point anywhere but 127.0.0.1.
import fs from 'node:fs';
import path from 'node:path';

export function kubeconfigText(server: string, namespace = 'default'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: localkube',
    '  cluster:',
    `    server: ${server}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: localkube',
    '  user:',
    '    token: localkube',
    'contexts:',
    '- name: localkube',
    '  context:',
    '    cluster: localkube',
    '    user: localkube',
    `    namespace: ${namespace}`,
    'current-context: localkube',
    'preferences: {}',
    '',
  ].join('\n');
}

/** writeKubeconfig writes the file (mode 0600), creating its folder. */
export function writeKubeconfig(file: string, server: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, kubeconfigText(server), { mode: 0o600 });
}
