// The coordination.k8s.io/v1 Lease behind leader election. Must never hide a
// 409: it is what makes two operators unable to both win.
import * as k8s from '@kubernetes/client-node';
import { ConflictError, type LeaseRecord, type LeaseStore } from './leader-election.ts';
import { httpStatus } from './client.ts';

function toRecord(l: k8s.V1Lease): LeaseRecord {
  const s = l.spec ?? {};
  return {
    holderIdentity: s.holderIdentity ?? '',
    leaseDurationSeconds: s.leaseDurationSeconds ?? 15,
    acquireTime: new Date(s.acquireTime ?? 0),
    renewTime: new Date(s.renewTime ?? 0),
    leaseTransitions: s.leaseTransitions ?? 0,
    resourceVersion: l.metadata?.resourceVersion,
  };
}

export class KubeLeaseStore implements LeaseStore {
  private readonly api: k8s.CoordinationV1Api;
  private readonly namespace: string;
  private readonly name: string;

  constructor(api: k8s.CoordinationV1Api, namespace: string, name: string) {
    this.api = api;
    this.namespace = namespace;
    this.name = name;
  }

  private body(r: LeaseRecord): k8s.V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, resourceVersion: r.resourceVersion },
      spec: {
        holderIdentity: r.holderIdentity,
        leaseDurationSeconds: r.leaseDurationSeconds,
        acquireTime: new k8s.V1MicroTime(r.acquireTime.getTime()),
        renewTime: new k8s.V1MicroTime(r.renewTime.getTime()),
        leaseTransitions: r.leaseTransitions,
      },
    };
  }

  async get(): Promise<LeaseRecord | undefined> {
    try {
      return toRecord(await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }));
    } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw e;
    }
  }

  async create(r: LeaseRecord): Promise<LeaseRecord> {
    try {
      return toRecord(await this.api.createNamespacedLease({ namespace: this.namespace, body: this.body({ ...r, resourceVersion: undefined }) }));
    } catch (e) {
      if (httpStatus(e) === 409) throw new ConflictError(`lease ${this.describe()} exists`);
      throw e;
    }
  }

  async update(r: LeaseRecord): Promise<LeaseRecord> {
    try {
      return toRecord(await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body: this.body(r) }));
    } catch (e) {
      if (httpStatus(e) === 409) throw new ConflictError(`lease ${this.describe()} changed`);
      throw e;
    }
  }

  describe(): string {
    return `${this.namespace}/${this.name}`;
  }
}
