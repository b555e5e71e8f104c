// The public surface of operator/api: the ReplicaGroup v1alpha1 types, their
// defaults and validation. Other folders import only from here. This folder
// must never talk to Kubernetes or to replicas.
export * from './types.ts';
export * from './defaults.ts';
export * from './validate.ts';
export * from './fields.ts';
export { parseDuration, formatDuration, DURATION_PATTERN } from './duration.ts';
export { isQuantity, quantityValue, QUANTITY_PATTERN } from './quantity.ts';
