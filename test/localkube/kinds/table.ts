// Table output (meta.k8s.io/v1 Table), what `kubectl get` asks for: the kind's
// columns and server-rendered cells, each row carrying the object's metadata
// (PartialObjectMetadata) or the whole object when includeObject=Object.
// It must never filter or sort objects: callers pass them in order.
import type { JsonObject, KubeObject } from '../store/object.ts';
import type { ResourceType } from './types.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** toTable renders objects of one type as a Table; noHeaders omits columnDefinitions (later watch events). */
export function toTable(
  type: ResourceType,
  version: string,
  objects: KubeObject[],
  options: { resourceVersion?: string; continue?: string; includeObject?: IncludeObject; noHeaders?: boolean; now: number },
): JsonObject {
  const printer = type.printer(version);
  const include = options.includeObject ?? 'Metadata';
  const rows = objects.map((obj) => {
    const row: JsonObject = { cells: printer.cells(obj, options.now) };
    if (include === 'Object') row.object = obj;
    else if (include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
    return row;
  });
  const metadata: JsonObject = {};
  if (options.resourceVersion) metadata.resourceVersion = options.resourceVersion;
  if (options.continue) metadata.continue = options.continue;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: options.noHeaders ? null : printer.columns,
    rows,
  };
}

/** wantsTable tells whether an Accept header asks for Table output. */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}
