// Persistent volumes on local disk: a default StorageClass "standard"; every
// PersistentVolumeClaim is bound at once to a new PersistentVolume
// (pvc-<claim uid>, a directory under the data dir) and protected by the
// kubernetes.io/pvc-protection finalizer while a pod uses it; deleting the claim
// deletes the volume and its directory (reclaim policy Delete).
// It must never delete a directory of a claim that still exists.
import fs from 'node:fs';
import path from 'node:path';
import type { Api } from '../api/rest.ts';
import { ApiError } from '../api/errors.ts';
import type { JsonObject, KubeObject } from '../store/object.ts';
import { QueuedController } from './controller.ts';

const PROTECTION = 'kubernetes.io/pvc-protection';
const PROVISIONER = 'localkube.dev/hostpath';

export class VolumeController extends QueuedController {
  readonly #api: Api;
  readonly #dir: string;

  constructor(api: Api, volumesDir: string) {
    super('volume controller');
    this.#api = api;
    this.#dir = volumesDir;
    fs.mkdirSync(volumesDir, { recursive: true });
    const sc = api.kinds.byKind('storage.k8s.io', 'StorageClass')!;
    if (!api.tryGet(sc, '', 'standard')) {
      api.create(sc, '', {
        metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: PROVISIONER,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'Immediate',
      });
    }
    this.follow(api.store, (e) => {
      if (e.resource === '/persistentvolumeclaims') this.queue.add(`claim/${e.object.metadata.namespace}/${e.object.metadata.name}`);
      else if (e.resource === '/persistentvolumes' && e.type === 'DELETED') this.#removeDir(e.object);
      else if (e.resource === '/pods' && e.object.metadata.namespace) {
        for (const v of (e.object.spec?.volumes ?? []) as JsonObject[]) {
          if (v.persistentVolumeClaim) this.queue.add(`claim/${e.object.metadata.namespace}/${v.persistentVolumeClaim.claimName}`);
        }
      }
    });
    for (const pvc of api.store.list('/persistentvolumeclaims')) this.queue.add(`claim/${pvc.metadata.namespace}/${pvc.metadata.name}`);
  }

  /** claimDir is where a claim's data lives, or why a pod cannot use the claim yet. */
  claimDir(namespace: string, claim: string): { dir: string } | { error: string } {
    const pvc = this.#api.store.get('/persistentvolumeclaims', namespace, claim);
    if (!pvc) return { error: `persistentvolumeclaim "${claim}" not found` };
    if (pvc.metadata.deletionTimestamp) return { error: `persistentvolumeclaim "${claim}" is being deleted` };
    if (pvc.status?.phase !== 'Bound' || !pvc.spec?.volumeName) return { error: `persistentvolumeclaim "${claim}" is not bound` };
    return { dir: path.join(this.#dir, pvc.spec.volumeName) };
  }

  /** wipe empties a claim's directory (the test hook for lost disks). */
  wipe(namespace: string, claim: string): string {
    const at = this.claimDir(namespace, claim);
    if ('error' in at) throw new ApiError(404, 'NotFound', at.error);
    fs.rmSync(at.dir, { recursive: true, force: true });
    fs.mkdirSync(at.dir, { recursive: true });
    return at.dir;
  }

  protected reconcile(key: string): void {
    const [, ns, name] = key.split('/');
    const api = this.#api;
    const pvcType = api.kinds.byKind('', 'PersistentVolumeClaim')!;
    const pvType = api.kinds.byKind('', 'PersistentVolume')!;
    const pvc = api.store.get('/persistentvolumeclaims', ns, name);
    if (!pvc) return;
    if (pvc.metadata.deletionTimestamp) {
      if (this.#inUse(pvc)) return;
      api.mutate(pvcType, ns, name, (c) => {
        const f: string[] = c.metadata.finalizers ?? [];
        if (!f.includes(PROTECTION)) return false;
        c.metadata.finalizers = f.filter((x) => x !== PROTECTION);
      });
      const pvName = pvc.spec?.volumeName;
      if (pvName && api.store.get('/persistentvolumes', undefined, pvName)) {
        try {
          api.delete(pvType, '', pvName);
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
      return;
    }
    if (!(pvc.metadata.finalizers ?? []).includes(PROTECTION)) {
      api.mutate(pvcType, ns, name, (c) => {
        c.metadata.finalizers = [...(c.metadata.finalizers ?? []), PROTECTION];
      });
    }
    if (pvc.status?.phase === 'Bound') return;
    const pvName = `pvc-${pvc.metadata.uid}`;
    const storage = pvc.spec?.resources?.requests?.storage ?? '1Gi';
    const className = pvc.spec?.storageClassName ?? 'standard';
    const dir = path.join(this.#dir, pvName);
    fs.mkdirSync(dir, { recursive: true });
    if (!api.store.get('/persistentvolumes', undefined, pvName)) {
      api.create(pvType, '', {
        metadata: { name: pvName, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
        spec: {
          capacity: { storage },
          accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: className,
          volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
          hostPath: { path: dir, type: 'Directory' },
          claimRef: { kind: 'PersistentVolumeClaim', namespace: ns, name, uid: pvc.metadata.uid, apiVersion: 'v1' },
        },
      });
      api.mutate(pvType, '', pvName, (pv) => {
        pv.status = { phase: 'Bound' };
      }, 'status');
    }
    api.mutate(pvcType, ns, name, (c) => {
      c.spec.volumeName = pvName;
      c.spec.storageClassName = className;
      c.metadata.annotations = { ...(c.metadata.annotations ?? {}), 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes', 'volume.kubernetes.io/storage-provisioner': PROVISIONER };
    });
    api.mutate(pvcType, ns, name, (c) => {
      c.status = { phase: 'Bound', accessModes: c.spec.accessModes, capacity: { storage } };
    }, 'status');
  }

  #inUse(pvc: KubeObject): boolean {
    return this.#api.store
      .list('/pods', pvc.metadata.namespace)
      .some((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && ((p.spec?.volumes ?? []) as JsonObject[]).some((v) => v.persistentVolumeClaim?.claimName === pvc.metadata.name));
  }

  #removeDir(pv: KubeObject): void {
    if (pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) return;
    const dir = path.join(this.#dir, pv.metadata.name);
    if (dir.startsWith(this.#dir + path.sep)) fs.rmSync(dir, { recursive: true, force: true });
  }
}
