// Test-side TLS clients for operator-made groups: reads a certificate Secret
// (tls.crt, tls.key, ca.crt) from localkube's store, writes it to files for
// etcdctl, and calls a member's admin service on its client or peer port
// presenting that certificate, verifying the member by its stable host name
// (as the operator does). Must never write outside the directory it is given.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { clientConstructor, loadProtos } from '../../../proto/grpc.ts';
import type { OperatorEnv } from './env.ts';
import { NAMESPACE } from './env.ts';

export interface SecretPems {
  cert: string;
  key: string;
  ca: string;
}

/** secretPems reads a kubernetes.io/tls Secret of the test namespace; undefined while it does not exist. */
export function secretPems(env: OperatorEnv, name: string): SecretPems | undefined {
  const s = env.lk.api.store.get('/secrets', NAMESPACE, name);
  const d = s?.data as Record<string, string> | undefined;
  if (!d?.['tls.crt'] || !d['tls.key'] || !d['ca.crt']) return undefined;
  const text = (k: string) => Buffer.from(d[k], 'base64').toString('utf8');
  return { cert: text('tls.crt'), key: text('tls.key'), ca: text('ca.crt') };
}

/** writePems writes the PEMs as files for etcdctl's --cacert/--cert/--key. */
export function writePems(dir: string, prefix: string, p: SecretPems): { cacert: string; cert: string; key: string } {
  fs.mkdirSync(dir, { recursive: true });
  const files = { cacert: path.join(dir, `${prefix}-ca.crt`), cert: path.join(dir, `${prefix}.crt`), key: path.join(dir, `${prefix}.key`) };
  fs.writeFileSync(files.cacert, p.ca);
  fs.writeFileSync(files.cert, p.cert);
  fs.writeFileSync(files.key, p.key, { mode: 0o600 });
  return files;
}

type Client = grpc.Client & Record<string, (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: any) => void) => void>;
let ctor: grpc.ServiceClientConstructor | undefined;

/**
 * adminStatusTls calls Admin.Status at `address` (pod IP and port) presenting
 * `who`, trusting `caPem`, and expecting the member's certificate to name `serverName`.
 */
export function adminStatusTls(address: string, serverName: string, caPem: string, who: { cert: string; key: string }, timeoutMs = 5000): Promise<{ memberId: number; role: string }> {
  ctor ??= clientConstructor(loadProtos('admin.proto'), 'replicant.admin.v1.Admin');
  const c = new ctor(address, grpc.credentials.createSsl(Buffer.from(caPem), Buffer.from(who.key), Buffer.from(who.cert)), {
    'grpc.ssl_target_name_override': serverName,
  }) as unknown as Client;
  return new Promise((resolve, reject) =>
    c.Status({}, { deadline: Date.now() + timeoutMs }, (e, r) => {
      c.close();
      if (e) reject(e);
      else resolve(r);
    }),
  );
}

const run = promisify(execFile);

/** etcdctl runs etcdctl (v3 API) with bounded command and dial timeouts; a failure is its exit code and output, never a throw. */
export async function etcdctl(args: string[], timeoutS = 10): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run('etcdctl', [`--command-timeout=${timeoutS}s`, `--dial-timeout=${Math.min(5, timeoutS)}s`, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}
