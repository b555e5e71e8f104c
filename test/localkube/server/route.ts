// Parses a Kubernetes REST path (/api/v1/…, /apis/G/V/…) into group, version,
// namespace, resource, name and subresource. It must never look anything up.

export interface ResourcePath {
  group: string;
  version: string;
  /** namespace from the URL ("" when none). */
  namespace: string;
  plural: string;
  name?: string;
  subresource?: string;
  /** legacyWatch is true for the deprecated /watch/ path prefix. */
  legacyWatch: boolean;
}

export type ParsedPath =
  | { kind: 'resource'; path: ResourcePath }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'group'; group: string }
  | { kind: 'other' };

/** parsePath splits a URL path; anything it cannot place is "other" (404 later). */
export function parsePath(pathname: string): ParsedPath {
  const segs = pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 2) {
    group = '';
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 3) {
    group = segs[1];
    version = segs[2];
    rest = segs.slice(3);
  } else if (segs[0] === 'apis' && segs.length === 2) {
    return { kind: 'group', group: segs[1] };
  } else {
    return { kind: 'other' };
  }
  if (rest.length === 0) return { kind: 'groupVersion', group, version };
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    const [, namespace, plural, name, subresource, ...extra] = rest;
    if (extra.length > 0) return { kind: 'other' };
    return { kind: 'resource', path: { group, version, namespace, plural, name, subresource, legacyWatch } };
  }
  const [plural, name, subresource, ...extra] = rest;
  if (extra.length > 0) return { kind: 'other' };
  return { kind: 'resource', path: { group, version, namespace: '', plural, name, subresource, legacyWatch } };
}
