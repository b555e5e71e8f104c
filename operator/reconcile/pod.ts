// Renders a member's Pod and PersistentVolumeClaim: the replica container with
// its etcd-like flags, probes on /readyz and /healthz (port 2381), the data
// volume, labels, owner reference, stable hostname under the headless peer
// Service, and scheduling (by default spread across nodes). Pure: must never
// read observed state; everything comes in as arguments.
import { createHash } from 'node:crypto';
import type { V1PersistentVolumeClaim, V1Pod, V1TopologySpreadConstraint } from '@kubernetes/client-node';
import type { ReplicaGroup, ResolvedSpec } from '../api/index.ts';
import {
  ANNOTATION_CLUSTER_STATE,
  ANNOTATION_SPEC_HASH,
  ANNOTATION_TLS,
  ANNOTATION_TLS_ISSUER,
  OPERATOR_IDENTITY,
  TLS_MOUNT_PATH,
  memberTlsSecretName,
  scheme,
  CLIENT_PORT,
  METRICS_PORT,
  PEER_PORT,
  clientUrl,
  clusterToken,
  groupLabels,
  memberLabels,
  ownerReference,
  peerServiceName,
  peerUrl,
  pvcName,
} from './names.ts';
import type { PlannerOptions } from './options.ts';

export interface MemberPodInput {
  group: ReplicaGroup;
  spec: ResolvedSpec;
  member: string;
  /** clusterState: "new" for founding members, "existing" for members added to a running group. */
  clusterState: 'new' | 'existing';
  /** initialCluster names the members listed in --initial-cluster (this member included). */
  initialCluster: string[];
  options: PlannerOptions;
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * podSpecHash is the hash of every setting that a member restart would change
 * (image, resources, scheduling, raft tuning, how the replica is started). It
 * is stored on each pod; a pod with another hash is rolled.
 */
export function podSpecHash(spec: ResolvedSpec, options: PlannerOptions): string {
  const relevant = {
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy,
    resources: spec.resources,
    affinity: spec.affinity,
    topologySpreadConstraints: spec.topologySpreadConstraints,
    nodeSelector: spec.nodeSelector,
    tolerations: spec.tolerations,
    raft: spec.raft,
    command: options.command,
    argsPrefix: options.argsPrefix,
    faultInjection: options.replicaFaultInjection || undefined,
    // Only whether TLS is on: certificates are rotated by rewriting the member's
    // Secret (the replica reloads the files), which must never restart a pod.
    tls: spec.tls ? true : undefined,
  };
  return createHash('sha256').update(stable(relevant)).digest('hex').slice(0, 16);
}

/** defaultSpread spreads a group's members across nodes, but still schedules when it cannot (so replacements never hang). */
export function defaultSpread(group: string): V1TopologySpreadConstraint[] {
  return [
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: groupLabels(group) },
    },
  ];
}

/** replicaArgs are the replica's flags for one member. */
export function replicaArgs(input: MemberPodInput): string[] {
  const { group, spec, member, options } = input;
  const name = group.metadata.name!;
  const ns = group.metadata.namespace ?? 'default';
  const d = options.clusterDomain;
  const tls = !!spec.tls;
  const s = scheme(tls);
  const cluster = input.initialCluster.map((m) => `${m}=${peerUrl(name, ns, m, d, tls)}`).join(',');
  const file = (f: string) => `${TLS_MOUNT_PATH}/${f}`;
  const tlsFlags = tls
    ? [
        `--cert-file=${file('tls.crt')}`,
        `--key-file=${file('tls.key')}`,
        `--trusted-ca-file=${file('ca.crt')}`,
        '--client-cert-auth',
        `--peer-cert-file=${file('tls.crt')}`,
        `--peer-key-file=${file('tls.key')}`,
        `--peer-trusted-ca-file=${file('ca.crt')}`,
        '--peer-client-cert-auth',
        `--admin-allowed-identities=${OPERATOR_IDENTITY}`,
      ]
    : [];
  return [
    ...options.argsPrefix,
    `--name=${member}`,
    `--data-dir=${options.dataMountPath}/data`,
    // Listen on the pod's own address: pods of a process kubelet share one host.
    `--listen-client-urls=${s}://$(POD_IP):${CLIENT_PORT}`,
    `--advertise-client-urls=${clientUrl(name, ns, member, d, tls)}`,
    `--listen-peer-urls=${s}://$(POD_IP):${PEER_PORT}`,
    `--initial-advertise-peer-urls=${peerUrl(name, ns, member, d, tls)}`,
    `--initial-cluster=${cluster}`,
    `--initial-cluster-state=${input.clusterState}`,
    `--initial-cluster-token=${clusterToken(group)}`,
    `--listen-metrics-urls=http://$(POD_IP):${METRICS_PORT}`,
    `--heartbeat-interval=${spec.raft.heartbeatIntervalMs}`,
    `--election-timeout=${spec.raft.electionTimeoutMs}`,
    `--snapshot-count=${spec.raft.snapshotCount}`,
    `--checkpoint-interval=${spec.raft.checkpointInterval}`,
    ...tlsFlags,
    ...(options.replicaFaultInjection ? ['--enable-fault-injection'] : []),
  ];
}

/** buildMemberPod renders the pod of one member. */
export function buildMemberPod(input: MemberPodInput): V1Pod {
  const { group, spec, member, options } = input;
  const name = group.metadata.name!;
  const electionS = Math.max(1, Math.ceil(spec.raft.electionTimeoutMs / 1000));
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: member,
      namespace: group.metadata.namespace,
      labels: memberLabels(name, member),
      annotations: {
        [ANNOTATION_SPEC_HASH]: podSpecHash(spec, options),
        [ANNOTATION_CLUSTER_STATE]: input.clusterState,
        [ANNOTATION_TLS]: String(!!spec.tls),
        ...(spec.tls?.certManager ? { [ANNOTATION_TLS_ISSUER]: 'cert-manager' } : {}),
      },
      ownerReferences: [ownerReference(group)],
    },
    spec: {
      hostname: member,
      subdomain: peerServiceName(name),
      restartPolicy: 'Always',
      automountServiceAccountToken: false,
      // The image runs as 1000:1000; the group lets it read its certificate files (mode 0440).
      ...(spec.tls ? { securityContext: { fsGroup: 1000, fsGroupChangePolicy: 'OnRootMismatch' } } : {}),
      terminationGracePeriodSeconds: 30,
      containers: [
        {
          name: 'replica',
          image: spec.image,
          imagePullPolicy: spec.imagePullPolicy,
          ...(options.command ? { command: [...options.command] } : {}),
          args: replicaArgs(input),
          env: [
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          ],
          ports: [
            { name: 'client', containerPort: CLIENT_PORT },
            { name: 'peer', containerPort: PEER_PORT },
            { name: 'metrics', containerPort: METRICS_PORT },
          ],
          readinessProbe: { httpGet: { path: '/readyz', port: METRICS_PORT }, periodSeconds: 2, failureThreshold: 3, timeoutSeconds: 2 },
          livenessProbe: {
            httpGet: { path: '/healthz', port: METRICS_PORT },
            periodSeconds: 10,
            failureThreshold: 3,
            timeoutSeconds: Math.min(10, electionS + 1),
          },
          // A member replaying a long log may take a while before /healthz answers.
          startupProbe: { httpGet: { path: '/healthz', port: METRICS_PORT }, periodSeconds: 2, failureThreshold: 60, timeoutSeconds: 2 },
          ...(spec.resources ? { resources: spec.resources } : {}),
          // A replica that refuses to start says why on stderr: that line becomes the termination message.
          terminationMessagePolicy: 'FallbackToLogsOnError',
          volumeMounts: [
            { name: 'data', mountPath: options.dataMountPath },
            ...(spec.tls ? [{ name: 'tls', mountPath: TLS_MOUNT_PATH, readOnly: true }] : []),
          ],
        },
      ],
      volumes: [
        spec.storage
          ? { name: 'data', persistentVolumeClaim: { claimName: pvcName(member) } }
          : { name: 'data', emptyDir: {} },
        // The member's own Secret: its certificate and key and the CA certificate, never the CA's key.
        ...(spec.tls ? [{ name: 'tls', secret: { secretName: memberTlsSecretName(member), defaultMode: 0o440 } }] : []),
      ],
      topologySpreadConstraints: spec.topologySpreadConstraints ?? defaultSpread(name),
      ...(spec.affinity ? { affinity: spec.affinity } : {}),
      ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
      ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
    },
  };
  return pod;
}

/** buildMemberPvc renders the data volume claim of one member (only when spec.storage is set). */
export function buildMemberPvc(group: ReplicaGroup, spec: ResolvedSpec, member: string): V1PersistentVolumeClaim {
  if (!spec.storage) throw new Error('buildMemberPvc: spec.storage is not set');
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: pvcName(member),
      namespace: group.metadata.namespace,
      labels: memberLabels(group.metadata.name!, member),
      ownerReferences: [ownerReference(group)],
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: spec.storage.size } },
      ...(spec.storage.storageClassName ? { storageClassName: spec.storage.storageClassName } : {}),
    },
  };
}
