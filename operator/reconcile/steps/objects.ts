// Keeps the group's Services, PodDisruptionBudget and (when the operator
// manages them) its peer NetworkPolicy in place and up to date. The PDB's
// minAvailable is a quorum of the current voters. Must never touch member
// pods or volumes.
import type { Context, Step, StepResult } from '../context.ts';
import { clientServiceName, pdbName, peerPolicyName, peerServiceName } from '../names.ts';
import {
  buildClientService,
  buildPdb,
  buildPeerNetworkPolicy,
  buildPeerService,
  networkPolicyNeedsUpdate,
  pdbNeedsUpdate,
  serviceNeedsUpdate,
} from '../services.ts';

export const services: Step = {
  name: 'services',
  run(ctx: Context): StepResult | undefined {
    const busy = ctx.options.requeue.busy;
    for (const [name, build] of [
      [peerServiceName(ctx.name), buildPeerService],
      [clientServiceName(ctx.name), buildClientService],
    ] as const) {
      const desired = build(ctx.group);
      const actual = ctx.obs.services.find((s) => s.metadata?.name === name);
      if (!actual) return { action: { kind: 'CreateService', key: `CreateService/${name}`, description: `create Service ${name}`, service: desired }, requeueAfterMs: busy };
      if (serviceNeedsUpdate(actual, desired)) {
        return { action: { kind: 'UpdateService', key: `UpdateService/${name}`, description: `update Service ${name}`, service: desired }, requeueAfterMs: busy };
      }
    }
    const voters = ctx.view.config && ctx.view.configSource === 'leader' ? ctx.view.config.voters.length : ctx.spec!.replicas;
    const desired = buildPdb(ctx.group, voters);
    const name = pdbName(ctx.name);
    const actual = ctx.obs.pdbs.find((p) => p.metadata?.name === name);
    if (!actual) return { action: { kind: 'CreatePodDisruptionBudget', key: `CreatePodDisruptionBudget/${name}`, description: `create PodDisruptionBudget ${name}`, pdb: desired }, requeueAfterMs: busy };
    if (pdbNeedsUpdate(actual, desired)) {
      return {
        action: { kind: 'UpdatePodDisruptionBudget', key: `UpdatePodDisruptionBudget/${name}`, description: `set PodDisruptionBudget ${name} minAvailable=${desired.spec!.minAvailable}`, pdb: desired },
        requeueAfterMs: busy,
      };
    }
    if (ctx.options.networkPolicies) {
      const policy = buildPeerNetworkPolicy(ctx.group);
      const pname = peerPolicyName(ctx.name);
      const current = (ctx.obs.networkPolicies ?? []).find((p) => p.metadata?.name === pname);
      if (!current) return { action: { kind: 'CreateNetworkPolicy', key: `CreateNetworkPolicy/${pname}`, description: `create NetworkPolicy ${pname} (peer port for the group's members only)`, policy }, requeueAfterMs: busy };
      if (networkPolicyNeedsUpdate(current, policy)) {
        return { action: { kind: 'UpdateNetworkPolicy', key: `UpdateNetworkPolicy/${pname}`, description: `update NetworkPolicy ${pname}`, policy }, requeueAfterMs: busy };
      }
    }
    return undefined;
  },
};
