// One set of TLS files (certificate chain, private key, trusted CA bundle)
// kept loaded and current: read and validated at start, re-read when the
// files change on disk (a watch on their directories, which also sees
// Kubernetes' symlink swaps of mounted Secrets, plus a periodic check as a
// fallback), and swapped in only when the new set is complete and consistent.
// It is the grpc-js CertificateProvider behind the replica's credentials.
// It must never replace working material with a half-written, mismatched,
// expired or unreadable set: such a reload is logged and retried.
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import type { Logger } from 'pino';

/** TlsConfigError is TLS configuration that cannot be used; the message names the flag. */
export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

export interface TlsFilePaths {
  certFile: string;
  keyFile: string;
  /** trusted CA bundle for verifying the other side; absent: nobody's certificate can be verified */
  trustedCaFile?: string;
}

/** TlsMaterial is one consistent, validated set of files. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** increases by one on every accepted reload */
  generation: number;
  /** the leaf certificate */
  leaf: X509Certificate;
  notAfter: Date;
  /** sha256 of the three files: unchanged files are not reloaded */
  digest: string;
}

interface CaUpdate {
  caCertificate: Buffer;
}
interface IdentityUpdate {
  certificate: Buffer;
  privateKey: Buffer;
}

function readFile(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TlsConfigError(`${flag} ${file}: cannot be read (${code ?? (e as Error).message})`);
  }
}

/**
 * readMaterial reads and checks one set: PEM certificate and key that belong
 * together, a CA bundle with at least one certificate, a leaf valid at `now`.
 */
export function readMaterial(p: TlsFilePaths, flags: { cert: string; key: string; ca: string }, now = new Date()): Omit<TlsMaterial, 'generation'> {
  const cert = readFile(p.certFile, flags.cert);
  const key = readFile(p.keyFile, flags.key);
  const ca = p.trustedCaFile ? readFile(p.trustedCaFile, flags.ca) : undefined;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (e) {
    throw new TlsConfigError(`${flags.cert} ${p.certFile}: not a PEM certificate (${(e as Error).message})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new TlsConfigError(`${flags.key} ${p.keyFile}: not a PEM private key (${(e as Error).message})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsConfigError(`${flags.key} ${p.keyFile} does not belong to the certificate in ${flags.cert} ${p.certFile}`);
  }
  const notAfter = new Date(leaf.validTo);
  const notBefore = new Date(leaf.validFrom);
  if (now > notAfter) throw new TlsConfigError(`${flags.cert} ${p.certFile}: the certificate expired at ${notAfter.toISOString()}`);
  if (now < notBefore) throw new TlsConfigError(`${flags.cert} ${p.certFile}: the certificate is not valid before ${notBefore.toISOString()} (check the clock)`);
  if (ca !== undefined) {
    const text = ca.toString('latin1');
    if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new TlsConfigError(`${flags.ca} ${p.trustedCaFile}: holds no PEM certificate`);
    try {
      new X509Certificate(ca);
    } catch (e) {
      throw new TlsConfigError(`${flags.ca} ${p.trustedCaFile}: not a PEM certificate bundle (${(e as Error).message})`);
    }
  }
  try {
    tls.createSecureContext({ cert, key, ca });
  } catch (e) {
    throw new TlsConfigError(`${flags.cert}/${flags.key}: unusable for TLS (${(e as Error).message})`);
  }
  const digest = createHash('sha256').update(cert).update('\0').update(key).update('\0').update(ca ?? '').digest('hex');
  return { cert, key, ca, leaf, notAfter, digest };
}

export interface TlsFilesOptions {
  /** the flag names, for messages: e.g. { cert: '--peer-cert-file', ... } */
  flags: { cert: string; key: string; ca: string };
  log: Logger;
  /** how often to re-check the files even without a change notification */
  reloadIntervalMs: number;
  /** the clock (tests) */
  now?: () => Date;
  /** validate refuses a set for reasons of the host (e.g. a peer certificate naming another member); returns the reason */
  validate?: (m: Omit<TlsMaterial, 'generation'>) => string | undefined;
}

export class TlsFiles {
  readonly paths: TlsFilePaths;
  readonly #o: TlsFilesOptions;
  #material: TlsMaterial;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #watchers: fs.FSWatcher[] = [];
  #lastError = '';
  readonly #changeListeners = new Set<(m: TlsMaterial) => void>();
  readonly #caListeners = new Set<(u: CaUpdate | null) => void>();
  readonly #identityListeners = new Set<(u: IdentityUpdate | null) => void>();

  /** The constructor loads the files once; it throws TlsConfigError when they are unusable. */
  constructor(paths: TlsFilePaths, o: TlsFilesOptions) {
    this.paths = paths;
    this.#o = o;
    const first = readMaterial(paths, o.flags, o.now?.());
    const reason = o.validate?.(first);
    if (reason !== undefined) throw new TlsConfigError(reason);
    this.#material = { ...first, generation: 1 };
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  /** start watches the files' directories and re-checks them every reloadIntervalMs. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.reload(), this.#o.reloadIntervalMs);
    this.#timer.unref();
    const dirs = new Set([this.paths.certFile, this.paths.keyFile, this.paths.trustedCaFile].filter((f): f is string => !!f).map((f) => path.dirname(path.resolve(f))));
    for (const dir of dirs) {
      try {
        const w = fs.watch(dir, { persistent: false }, () => this.#soon());
        w.on('error', () => undefined);
        this.#watchers.push(w);
      } catch (err) {
        this.#o.log.warn({ dir, err: (err as Error).message }, 'cannot watch TLS files; relying on the periodic check');
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    this.#timer = undefined;
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }

  #soon(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.reload(), 50);
    this.#debounce.unref();
  }

  /**
   * reload re-reads the files; returns true when a new, valid set was swapped
   * in. An invalid set (e.g. certificate written, key not yet) keeps the old
   * one; the error is logged once per distinct message.
   */
  reload(): boolean {
    let next: Omit<TlsMaterial, 'generation'>;
    try {
      next = readMaterial(this.paths, this.#o.flags, this.#o.now?.());
      const reason = this.#o.validate?.(next);
      if (reason !== undefined) throw new TlsConfigError(reason);
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== this.#lastError) {
        this.#lastError = msg;
        this.#o.log.error({ reason: msg }, 'TLS files changed but cannot be used; keeping the previous certificates');
      }
      return false;
    }
    this.#lastError = '';
    if (next.digest === this.#material.digest) return false;
    const prev = this.#material;
    this.#material = { ...next, generation: prev.generation + 1 };
    this.#o.log.info(
      { cert: this.paths.certFile, serial: next.leaf.serialNumber, notAfter: next.notAfter.toISOString(), generation: this.#material.generation },
      'reloaded TLS certificates',
    );
    for (const l of this.#changeListeners) l(this.#material);
    const { ca, id } = this.#updates();
    for (const l of this.#caListeners) l(ca);
    for (const l of this.#identityListeners) l(id);
    return true;
  }

  /** onChange hears every accepted reload. */
  onChange(listener: (m: TlsMaterial) => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  #updates(): { ca: CaUpdate | null; id: IdentityUpdate } {
    const m = this.#material;
    return { ca: m.ca ? { caCertificate: m.ca } : null, id: { certificate: m.cert, privateKey: m.key } };
  }

  // ---- grpc-js CertificateProvider (listeners get the current set at once) ----

  addCaCertificateListener(listener: (u: CaUpdate | null) => void): void {
    this.#caListeners.add(listener);
    listener(this.#updates().ca);
  }

  removeCaCertificateListener(listener: (u: CaUpdate | null) => void): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: (u: IdentityUpdate | null) => void): void {
    this.#identityListeners.add(listener);
    listener(this.#updates().id);
  }

  removeIdentityCertificateListener(listener: (u: IdentityUpdate | null) => void): void {
    this.#identityListeners.delete(listener);
  }
}
