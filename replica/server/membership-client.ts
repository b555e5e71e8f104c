// A client of another member's Membership service (peer.proto) on its peer
// port: FindMember while a member starts (who am I, did I run before) and
// Checkpoints for the divergence watch. One place builds the gRPC client and
// turns a failed call into `undefined`, so callers decide what a silent peer
// means. Must never carry raft traffic (that is the transport's) and never
// throw for a peer that does not answer.
import * as grpc from '@grpc/grpc-js';
import { clientConstructor, loadProtos } from '../../proto/grpc.ts';
import type { Dial } from './peer-dial.ts';

export interface FindMemberAnswer {
  found: boolean;
  memberId: number;
  clusterId: number;
  members: { id: number; name: string; peerUrls: string[]; clientUrls: string[] }[];
}

export interface CheckpointsAnswer {
  memberId: number;
  checkpoints: { index: number; digest: string }[];
}

export interface MembershipClient {
  /** host:port this client calls */
  readonly target: string;
  /** findMember asks which member id the group gave `peerUrl`; undefined when the peer did not answer in time. */
  findMember(peerUrl: string, timeoutMs: number): Promise<FindMemberAnswer | undefined>;
  /** checkpoints asks for the peer's state checkpoints; undefined when it did not answer in time. */
  checkpoints(timeoutMs: number): Promise<CheckpointsAnswer | undefined>;
  close(): void;
}

let ctor: grpc.ServiceClientConstructor | undefined;

/** membershipClient opens a channel to the peer port `dial` describes (connections are made lazily by grpc-js). */
export function membershipClient(dial: Dial): MembershipClient {
  ctor ??= clientConstructor(loadProtos('peer.proto'), 'replicant.peer.v1.Membership');
  const c = new ctor(dial.target, dial.credentials, dial.options) as unknown as grpc.Client & Record<string, Function>;
  const call = <T>(method: string, request: object, timeoutMs: number) =>
    new Promise<T | undefined>((resolve) => c[method](request, { deadline: Date.now() + timeoutMs }, (err: Error | null, r: T) => resolve(err ? undefined : r)));
  return {
    target: dial.target,
    findMember: (peerUrl, timeoutMs) => call<FindMemberAnswer>('FindMember', { peerUrl }, timeoutMs),
    checkpoints: (timeoutMs) => call<CheckpointsAnswer>('Checkpoints', {}, timeoutMs),
    close: () => c.close(),
  };
}
