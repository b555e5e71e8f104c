// The etcd Maintenance service: Status and HashKV (what `etcdctl endpoint
// status` and `endpoint hashkv` call), and Alarm GET answering "no alarms"
// (replicant raises none). Defragment, Hash, Snapshot, MoveLeader, Downgrade
// and alarm changes answer UNIMPLEMENTED. It must never change state.
import * as grpc from '@grpc/grpc-js';
import { checkCompaction } from '../../kv/index.ts';
import type { ClientBackend } from './backend.ts';
import { ApiError } from './errors.ts';
import { fillHeader } from './kv-service.ts';
import { unary } from './wire.ts';
import type { ErrorSink } from './wire.ts';

const ALARM_GET = 0;

export function maintenanceHandlers(backend: ClientBackend, onError?: ErrorSink) {
  return {
    Status: unary('Status', async (_req: unknown) => {
      const s = await backend.status();
      return {
        header: fillHeader(backend, null),
        version: s.version,
        dbSize: s.dbSize,
        leader: s.leader,
        raftIndex: s.raftIndex,
        raftTerm: s.raftTerm,
        raftAppliedIndex: s.raftAppliedIndex,
        errors: s.errors,
        dbSizeInUse: s.dbSizeInUse,
        isLearner: s.isLearner,
      };
    }, onError),

    HashKV: unary('HashKV', async (req: { revision?: number }) => {
      checkCompaction({ revision: req.revision ?? 0 });
      const h = await backend.hashKV(req.revision ?? 0);
      return {
        header: fillHeader(backend, { revision: h.revision }),
        hash: h.hash,
        compactRevision: h.compactRevision,
        hashRevision: h.hashRevision,
      };
    }, onError),

    Alarm: unary('Alarm', async (req: { action?: number }) => {
      if ((req.action ?? ALARM_GET) !== ALARM_GET) {
        throw new ApiError(grpc.status.UNIMPLEMENTED, 'Alarm ACTIVATE/DEACTIVATE is not implemented by replicant (it raises no alarms)');
      }
      return { header: fillHeader(backend, null), alarms: [] };
    }, onError),
  };
}
