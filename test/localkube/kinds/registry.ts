// The set of resource types the server serves right now: the built-ins plus one
// per CRD. Discovery, OpenAPI, routing and the api layer all read it.
// It must never hold objects or decide API semantics.
import type { ResourceType } from './types.ts';
import { storeKey } from './types.ts';

export class Kinds {
  readonly #byKey = new Map<string, ResourceType>();
  readonly #listeners = new Set<() => void>();

  /** register adds or replaces a type (CRD create/update). */
  register(type: ResourceType): void {
    this.#byKey.set(storeKey(type), type);
    this.#changed();
  }

  /** unregister removes a type (CRD deleted). */
  unregister(key: string): void {
    if (this.#byKey.delete(key)) this.#changed();
  }

  /** find resolves a URL's group, version and plural; the version must be served. */
  find(group: string, version: string, plural: string): ResourceType | undefined {
    const type = this.#byKey.get(`${group}/${plural}`);
    return type && type.versions.includes(version) ? type : undefined;
  }

  byStoreKey(key: string): ResourceType | undefined {
    return this.#byKey.get(key);
  }

  /** byKind finds a type by group and kind (any served version). */
  byKind(group: string, kind: string): ResourceType | undefined {
    for (const t of this.#byKey.values()) if (t.group === group && t.kind === kind) return t;
    return undefined;
  }

  /** byApiVersionKind finds the type of an ownerReference or involvedObject ("apps/v1", "Deployment"). */
  byApiVersionKind(apiVersion: string, kind: string): ResourceType | undefined {
    const slash = apiVersion.indexOf('/');
    const group = slash < 0 ? '' : apiVersion.slice(0, slash);
    return this.byKind(group, kind);
  }

  all(): ResourceType[] {
    return [...this.#byKey.values()];
  }

  /** groupVersions lists the served (group, version) pairs, core first, then groups by name. */
  groupVersions(): { group: string; versions: string[] }[] {
    const byGroup = new Map<string, string[]>();
    for (const t of this.#byKey.values()) {
      const versions = byGroup.get(t.group) ?? [];
      for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
      byGroup.set(t.group, versions);
    }
    return [...byGroup.entries()]
      .sort(([a], [b]) => (a === b ? 0 : a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1))
      .map(([group, versions]) => ({ group, versions: sortVersions(versions) }));
  }

  /** onChange registers a listener called after every register/unregister. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}

/** sortVersions orders versions the way Kubernetes prefers them: GA > beta > alpha, higher numbers first. */
export function sortVersions(versions: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    const level = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [level, Number(m[1]), Number(m[3] ?? 0)];
  };
  return [...versions].sort((a, b) => {
    const [la, ma, na] = rank(a);
    const [lb, mb, nb] = rank(b);
    if (la !== lb) return lb - la;
    if (ma !== mb) return mb - ma;
    if (na !== nb) return nb - na;
    return a < b ? -1 : 1;
  });
}
