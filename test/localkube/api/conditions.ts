// Status conditions (type/status/reason/message/lastTransitionTime lists) as
// controllers write them. It must never decide what a condition means.
import type { JsonObject } from '../store/object.ts';

/**
 * setCondition sets one condition in a list (mutating it), keeping
 * lastTransitionTime when the status does not change. `extra` adds fields such
 * as a pod condition's lastProbeTime.
 */
export function setCondition(conditions: JsonObject[], type: string, status: string, reason: string | undefined, message: string | undefined, now: string, extra: JsonObject = {}): void {
  const at = conditions.findIndex((c) => c.type === type);
  const old = at >= 0 ? conditions[at] : undefined;
  const next: JsonObject = { type, status, ...extra, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now };
  if (reason !== undefined) next.reason = reason;
  if (message !== undefined) next.message = message;
  if (at >= 0) conditions[at] = next;
  else conditions.push(next);
}
