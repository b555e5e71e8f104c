// The errors the KV state machine reports, each carrying etcd's exact message
// so clients that match on etcd's strings (etcdctl, clientv3, the etcd3 npm
// client) behave as they do against etcd. The gRPC status code for each
// reason is chosen by the client API (replica/server/etcdapi), not here.
// This module must never decide policy: it only names failures.

/** KvErrorReason is a stable, machine-readable name for each failure. */
export type KvErrorReason =
  | 'emptyKey'
  | 'keyNotFound'
  | 'valueProvided'
  | 'leaseProvided'
  | 'tooManyOps'
  | 'duplicateKey'
  | 'compacted'
  | 'futureRevision'
  | 'leaseNotFound'
  | 'requestTooLarge'
  | 'invalidArgument';

/** ETCD_MESSAGES holds etcd's wording for each reason (api/v3rpc/rpctypes). */
const ETCD_MESSAGES: Record<Exclude<KvErrorReason, 'invalidArgument'>, string> = {
  emptyKey: 'etcdserver: key is not provided',
  keyNotFound: 'etcdserver: key not found',
  valueProvided: 'etcdserver: value is provided',
  leaseProvided: 'etcdserver: lease is provided',
  tooManyOps: 'etcdserver: too many operations in txn request',
  duplicateKey: 'etcdserver: duplicate key given in txn request',
  compacted: 'etcdserver: mvcc: required revision has been compacted',
  futureRevision: 'etcdserver: mvcc: required revision is a future revision',
  leaseNotFound: 'etcdserver: requested lease not found',
  requestTooLarge: 'etcdserver: request is too large',
};

/** KvError is a client-visible failure of a request; it never means the store is damaged. */
export class KvError extends Error {
  readonly reason: KvErrorReason;

  constructor(reason: KvErrorReason, message?: string) {
    super(message ?? (reason === 'invalidArgument' ? 'etcdserver: invalid argument' : ETCD_MESSAGES[reason]));
    this.name = 'KvError';
    this.reason = reason;
  }
}

/** invalidArgument builds a KvError for a malformed request, saying what is wrong and how to fix it. */
export function invalidArgument(message: string): KvError {
  return new KvError('invalidArgument', `etcdserver: ${message}`);
}
