// Pod volumes as local directories: emptyDir under the pod's directory (removed
// with the pod), persistentVolumeClaim → the bound volume's directory (kept until
// the claim is deleted), configMap / secret / downwardAPI / projected → files
// written into the pod's directory, hostPath → the path itself. Volume mounts
// become bind mounts (or path rewrites in preload mode) at their mountPath.
// Like a kubelet, it later updates configMap / secret / projected files in place
// when their objects change (refreshVolumes), so a running container sees a
// rotated Secret without a restart.
// It must never delete a claim's directory: the volume controller does when the claim goes.
import fs from 'node:fs';
import path from 'node:path';
import type { JsonObject, KubeObject } from '../store/object.ts';
import type { Mount } from './sandbox.ts';
import { podFieldValue } from './env.ts';
import { serviceAccountToken } from '../api/authn.ts';

export class VolumeError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** ObjectSources finds the ConfigMaps and Secrets of the pod's namespace. */
export interface ObjectSources {
  configMap(name: string): KubeObject | undefined;
  secret(name: string): KubeObject | undefined;
}

export interface VolumeSources extends ObjectSources {
  /** claimDir returns the directory of a Bound claim, or a reason it cannot be used yet. */
  claimDir(claim: string): { dir: string } | { error: string };
}

/**
 * writeKeys writes each entry whose content differs from the file's, each by a rename (a reader
 * sees the old file or the new one, never half); it returns how many files it wrote.
 */
function writeKeys(dir: string, entries: [string, string | Buffer][], mode: number): number {
  fs.mkdirSync(dir, { recursive: true });
  let written = 0;
  for (const [rel, content] of entries) {
    const file = path.join(dir, rel);
    if (!file.startsWith(dir + path.sep)) throw new VolumeError('FailedMount', `volume item path ${rel} escapes the volume`);
    const want = Buffer.isBuffer(content) ? content : Buffer.from(content);
    let have: Buffer | undefined;
    try {
      have = fs.readFileSync(file);
    } catch {
      have = undefined;
    }
    if (have?.equals(want)) continue;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = path.join(path.dirname(file), `..${path.basename(file)}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, want, { mode });
    fs.renameSync(tmp, file);
    written++;
  }
  return written;
}

function objectItems(obj: KubeObject, items: JsonObject[] | undefined, secret: boolean): [string, string | Buffer][] {
  const value = (key: string): string | Buffer | undefined => {
    if (obj.data?.[key] !== undefined) return secret ? Buffer.from(String(obj.data[key]), 'base64') : String(obj.data[key]);
    if (obj.binaryData?.[key] !== undefined) return Buffer.from(String(obj.binaryData[key]), 'base64');
    return undefined;
  };
  if (items && items.length > 0) {
    return items.map((i) => {
      const v = value(i.key);
      if (v === undefined) throw new VolumeError('FailedMount', `configmap/secret ${obj.metadata.name} has no key ${i.key}`);
      return [i.path ?? i.key, v];
    });
  }
  const keys = [...Object.keys(obj.data ?? {}), ...Object.keys(obj.binaryData ?? {})];
  return keys.map((k) => [k, value(k)!]);
}

/** objectVolume is a configMap or secret volume's source, whether it is a secret, and its object (undefined when missing). */
function objectVolume(v: JsonObject, sources: ObjectSources): { ref: JsonObject; secret: boolean; obj: KubeObject | undefined } {
  const secret = !!v.secret;
  const ref = secret ? v.secret : v.configMap;
  return { ref, secret, obj: secret ? sources.secret(ref.secretName) : sources.configMap(ref.name) };
}

function projectSource(pod: KubeObject, source: JsonObject, sources: ObjectSources, out: [string, string | Buffer][]): void {
  if (source.configMap || source.secret) {
    const secret = !!source.secret;
    const ref = source.configMap ?? source.secret;
    const name = ref.name ?? ref.secretName;
    const obj = secret ? sources.secret(name) : sources.configMap(name);
    if (!obj) {
      if (ref.optional) return;
      throw new VolumeError('FailedMount', `MountVolume.SetUp failed: ${secret ? 'secret' : 'configmap'} "${name}" not found`);
    }
    out.push(...objectItems(obj, ref.items, secret));
  } else if (source.downwardAPI) {
    for (const item of source.downwardAPI.items ?? []) {
      const v = item.fieldRef ? podFieldValue(pod, item.fieldRef.fieldPath) : '';
      out.push([item.path, v ?? '']);
    }
  } else if (source.serviceAccountToken) {
    // The API server authenticates it as the pod's ServiceAccount (api/authn.ts).
    out.push([source.serviceAccountToken.path ?? 'token', serviceAccountToken(pod.metadata.namespace ?? 'default', pod.spec?.serviceAccountName ?? 'default')]);
  }
}

/**
 * refreshVolumes rewrites the files of a running pod's configMap, secret and projected volumes
 * whose objects changed since they were written; it returns how many files changed. A missing
 * object or key leaves the files as they are (a kubelet keeps the last good content too). Keys
 * removed from an object are not removed from the volume.
 */
export function refreshVolumes(pod: KubeObject, volumes: ReadonlyMap<string, string>, sources: ObjectSources): number {
  let changed = 0;
  for (const v of (pod.spec?.volumes ?? []) as JsonObject[]) {
    const dir = volumes.get(v.name);
    if (!dir) continue;
    try {
      if (v.configMap || v.secret) {
        const { ref, secret, obj } = objectVolume(v, sources);
        if (obj) changed += writeKeys(dir, objectItems(obj, ref.items, secret), ref.defaultMode ?? 0o644);
      } else if (v.projected) {
        const entries: [string, string | Buffer][] = [];
        for (const s of (v.projected.sources ?? []) as JsonObject[]) projectSource(pod, s, sources, entries);
        changed += writeKeys(dir, entries, 0o644);
      }
    } catch (err) {
      if (!(err instanceof VolumeError)) throw err;
    }
  }
  return changed;
}

/** prepareVolumes creates every volume's directory; it returns volume name → host path. */
export function prepareVolumes(pod: KubeObject, podDir: string, sources: VolumeSources): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of (pod.spec?.volumes ?? []) as JsonObject[]) {
    const dir = path.join(podDir, 'volumes', v.name);
    if (v.emptyDir !== undefined) {
      fs.mkdirSync(dir, { recursive: true });
      out.set(v.name, dir);
    } else if (v.persistentVolumeClaim) {
      const claim = sources.claimDir(v.persistentVolumeClaim.claimName);
      if ('error' in claim) throw new VolumeError('FailedMount', claim.error);
      fs.mkdirSync(claim.dir, { recursive: true });
      out.set(v.name, claim.dir);
    } else if (v.configMap || v.secret) {
      const { ref, secret, obj } = objectVolume(v, sources);
      if (!obj && !ref.optional) {
        throw new VolumeError('FailedMount', `MountVolume.SetUp failed for volume "${v.name}" : ${secret ? 'secret' : 'configmap'} "${ref.secretName ?? ref.name}" not found`);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      writeKeys(dir, obj ? objectItems(obj, ref.items, secret) : [], ref.defaultMode ?? 0o644);
      out.set(v.name, dir);
    } else if (v.downwardAPI || v.projected) {
      const entries: [string, string | Buffer][] = [];
      const list: JsonObject[] = v.projected ? (v.projected.sources ?? []) : [{ downwardAPI: v.downwardAPI }];
      for (const s of list) projectSource(pod, s, sources, entries);
      fs.rmSync(dir, { recursive: true, force: true });
      writeKeys(dir, entries, 0o644);
      out.set(v.name, dir);
    } else if (v.hostPath) {
      const p = v.hostPath.path;
      const t = v.hostPath.type ?? '';
      if (t === 'DirectoryOrCreate') fs.mkdirSync(p, { recursive: true });
      else if (t === 'FileOrCreate' && !fs.existsSync(p)) {
        fs.mkdirSync(path.dirname(p), { recursive: true });
        fs.writeFileSync(p, '');
      } else if (t && !fs.existsSync(p)) throw new VolumeError('FailedMount', `hostPath type check failed: ${p} does not exist`);
      out.set(v.name, p);
    } else {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      throw new VolumeError('FailedMount', `volume "${v.name}": ${kind} volumes are not supported by localkube`);
    }
  }
  return out;
}

/** mountsFor lists a container's mounts (subPath included) from the prepared volumes. */
export function mountsFor(container: JsonObject, volumes: Map<string, string>, expandPath: (s: string) => string): Mount[] {
  return ((container.volumeMounts ?? []) as JsonObject[]).map((m) => {
    let source = volumes.get(m.name)!;
    const sub = m.subPathExpr ? expandPath(m.subPathExpr) : m.subPath;
    if (sub) {
      source = path.join(source, sub);
      if (!fs.existsSync(source)) fs.mkdirSync(source, { recursive: true });
    }
    return { source, target: m.mountPath, readOnly: m.readOnly === true };
  });
}
