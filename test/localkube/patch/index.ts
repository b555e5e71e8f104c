// The patch formats the API accepts (JSON patch, merge patch, strategic merge
// patch, server-side apply). It must never touch the store.
export { applyJsonPatch, parsePointer } from './json-patch.ts';
export { applyMergePatch } from './merge-patch.ts';
export { applyStrategicMergePatch } from './strategic.ts';
export type { PatchMeta } from './strategic.ts';
export { applyConfiguration, fieldSetOf, removeFields } from './apply.ts';
export { patchMetaFor } from './builtin-meta.ts';
