// The client API's errors: etcd's gRPC status code and exact message for each
// failure (api/v3rpc/rpctypes/error.go), so etcd clients recognise them (the
// etcd3 npm client and clientv3 match on the message text). The backend that
// drives raft throws EtcdError; toServiceError turns anything thrown into the
// status a client sees. This module must never swallow an error silently.
import * as grpc from '@grpc/grpc-js';
import { KvError } from '../../kv/index.ts';
import type { KvErrorReason } from '../../kv/index.ts';

const Status = grpc.status;

/** ETCD_ERRORS lists the etcd server errors the client API can return. */
const ETCD_ERRORS = {
  noLeader: [Status.UNAVAILABLE, 'etcdserver: no leader'],
  notLeader: [Status.FAILED_PRECONDITION, 'etcdserver: not leader'],
  leaderChanged: [Status.UNAVAILABLE, 'etcdserver: leader changed'],
  notCapable: [Status.UNAVAILABLE, 'etcdserver: not capable'],
  stopped: [Status.UNAVAILABLE, 'etcdserver: server stopped'],
  timeout: [Status.UNAVAILABLE, 'etcdserver: request timed out'],
  timeoutDueToLeaderFail: [Status.UNAVAILABLE, 'etcdserver: request timed out, possibly due to previous leader failure'],
  timeoutDueToConnectionLost: [Status.UNAVAILABLE, 'etcdserver: request timed out, possibly due to connection lost'],
  unhealthy: [Status.UNAVAILABLE, 'etcdserver: unhealthy cluster'],
  corrupt: [Status.DATA_LOSS, 'etcdserver: corrupt cluster'],
  notSupportedForLearner: [Status.UNAVAILABLE, 'etcdserver: rpc not supported for learner'],
  badLeaderTransferee: [Status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'],
  requestTooLarge: [Status.INVALID_ARGUMENT, 'etcdserver: request is too large'],
  tooManyRequests: [Status.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'],
  memberExist: [Status.FAILED_PRECONDITION, 'etcdserver: member ID already exist'],
  peerURLExist: [Status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'],
  memberNotEnoughStarted: [Status.FAILED_PRECONDITION, 'etcdserver: re-configuration failed due to not enough started members'],
  memberBadURLs: [Status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid'],
  memberNotFound: [Status.NOT_FOUND, 'etcdserver: member not found'],
  memberNotLearner: [Status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'],
  learnerNotReady: [Status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader'],
  tooManyLearners: [Status.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'],
} as const satisfies Record<string, readonly [grpc.status, string]>;

/** EtcdErrorReason names an etcd server error. */
export type EtcdErrorReason = keyof typeof ETCD_ERRORS;

/** EtcdError is an etcd server error with its gRPC code; backends throw it. */
export class EtcdError extends Error {
  readonly reason: EtcdErrorReason;
  readonly code: grpc.status;

  constructor(reason: EtcdErrorReason) {
    const [code, message] = ETCD_ERRORS[reason];
    super(message);
    this.name = 'EtcdError';
    this.reason = reason;
    this.code = code;
  }
}

/** KV_ERROR_CODES gives the gRPC code etcd uses for each state-machine error. */
const KV_ERROR_CODES: Record<KvErrorReason, grpc.status> = {
  emptyKey: Status.INVALID_ARGUMENT,
  keyNotFound: Status.INVALID_ARGUMENT,
  valueProvided: Status.INVALID_ARGUMENT,
  leaseProvided: Status.INVALID_ARGUMENT,
  tooManyOps: Status.INVALID_ARGUMENT,
  duplicateKey: Status.INVALID_ARGUMENT,
  compacted: Status.OUT_OF_RANGE,
  futureRevision: Status.OUT_OF_RANGE,
  leaseNotFound: Status.NOT_FOUND,
  requestTooLarge: Status.INVALID_ARGUMENT,
  invalidArgument: Status.INVALID_ARGUMENT,
};

/** ApiError is a failure with a gRPC code and a client-facing message (malformed requests, unimplemented options). */
export class ApiError extends Error {
  readonly code: grpc.status;

  constructor(code: grpc.status, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/**
 * toServiceError maps anything a handler or backend threw to the status the
 * client receives. Unknown errors become UNKNOWN with their message, as etcd
 * does; `unexpected` is told about them so the server can log them.
 */
export function toServiceError(err: unknown, unexpected?: (err: unknown) => void): Partial<grpc.ServiceError> {
  if (err instanceof EtcdError || err instanceof ApiError) return status(err.code, err.message);
  if (err instanceof KvError) return status(KV_ERROR_CODES[err.reason], err.message);
  unexpected?.(err);
  return status(Status.UNKNOWN, err instanceof Error ? err.message : String(err));
}

function status(code: grpc.status, details: string): Partial<grpc.ServiceError> {
  return { code, details, message: details, metadata: new grpc.Metadata() };
}
