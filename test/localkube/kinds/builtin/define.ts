// A helper to declare a built-in resource type with the API server's usual
// defaults filled in. It must never hold kind-specific behaviour.
import type { Printer, ResourceType } from '../types.ts';
import { ALL_VERBS } from '../types.ts';
import { defaultPrinter } from '../printing.ts';
import { patchMetaFor } from '../../patch/index.ts';

export type BuiltinSpec = Partial<Omit<ResourceType, 'printer'>> &
  Pick<ResourceType, 'group' | 'version' | 'kind' | 'plural' | 'namespaced'> & { print?: Printer };

/** defineBuiltin fills the usual values of a built-in type (all verbs, unconditional updates, no generation). */
export function defineBuiltin(spec: BuiltinSpec): ResourceType {
  const { print, ...rest } = spec;
  const printer = print ?? defaultPrinter;
  return {
    versions: [spec.version],
    listKind: `${spec.kind}List`,
    singular: spec.kind.toLowerCase(),
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    statusSubresource: false,
    otherSubresources: [],
    generation: false,
    allowUnconditionalUpdate: true,
    allowCreateOnUpdate: false,
    custom: false,
    fieldSelectors: {},
    rules: {},
    nameRule: 'subdomain',
    patchMeta: patchMetaFor(spec.group, spec.kind),
    ...rest,
    printer: () => printer,
  };
}
