// metav1.Condition bookkeeping: set a condition's status, reason and message
// for this generation, keeping lastTransitionTime when the status is unchanged.
// Pure: must never decide a condition's value.
import type { Condition, ConditionType } from '../api/index.ts';
import { rfc3339 } from './time.ts';

export interface ConditionValue {
  status: Condition['status'];
  reason: string;
  message: string;
}

/** setCondition returns `conditions` with `type` set; order of first appearance is kept. */
export function setCondition(
  conditions: Condition[],
  type: ConditionType,
  value: ConditionValue,
  generation: number,
  now: number,
): Condition[] {
  const old = conditions.find((c) => c.type === type);
  const next: Condition = {
    type,
    status: value.status,
    observedGeneration: generation,
    lastTransitionTime: old && old.status === value.status ? old.lastTransitionTime : rfc3339(now),
    reason: value.reason,
    message: value.message,
  };
  return old ? conditions.map((c) => (c.type === type ? next : c)) : [...conditions, next];
}

export function getCondition(conditions: Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
