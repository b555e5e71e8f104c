// RBAC authorization for service account requests (kubernetes' RBAC
// authorizer rules): a request is allowed when a ClusterRoleBinding, or a
// RoleBinding in the request's namespace, binds the user (ServiceAccount,
// User or Group subject) to a ClusterRole or Role with a rule matching the
// API group, resource (with "/subresource"), verb and, when the rule names
// them, the object name. Discovery, OpenAPI, version and health paths are
// open to every authenticated user (the default system:discovery and
// system:public-info-viewer bindings). Aggregated ClusterRoles are not
// expanded. The admin user is never checked.
// It must never change anything: it only answers allowed or not.
import type { Store } from '../store/store.ts';
import type { JsonObject } from '../store/object.ts';
import type { UserInfo } from './authn.ts';
import { ApiError, qualifiedResource } from './errors.ts';

/** RequestAttributes describe a resource request the way the RBAC authorizer sees it. */
export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace: string;
  name?: string;
}

/** requestVerb maps an HTTP method (and whether it names an object or watches) to the RBAC verb. */
export function requestVerb(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function subjectMatches(subject: JsonObject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject?.kind) {
    case 'ServiceAccount':
      return user.username === `system:serviceaccount:${subject.namespace || bindingNamespace}:${subject.name}`;
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    default:
      return false;
  }
}

function ruleMatches(rule: JsonObject, a: RequestAttributes): boolean {
  const has = (list: unknown, value: string) => Array.isArray(list) && (list.includes('*') || list.includes(value));
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups, a.group)) return false;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources: unknown[] = Array.isArray(rule.resources) ? rule.resources : [];
  const resourceOk =
    resources.includes('*') ||
    resources.includes(resource) ||
    (a.subresource !== undefined && (resources.includes(`${a.resource}/*`) || resources.includes(`*/${a.subresource}`)));
  if (!resourceOk) return false;
  const names: unknown[] = Array.isArray(rule.resourceNames) ? rule.resourceNames : [];
  return names.length === 0 || (a.name !== undefined && names.includes(a.name));
}

/** allowed evaluates the RBAC objects in the store for one request. */
export function allowed(store: Store, user: UserInfo, a: RequestAttributes): boolean {
  if (user.admin) return true;
  const rulesOf = (kind: string, name: string, namespace: string): JsonObject[] => {
    const role = kind === 'ClusterRole' ? store.get('rbac.authorization.k8s.io/clusterroles', undefined, name) : store.get('rbac.authorization.k8s.io/roles', namespace, name);
    return (role?.rules ?? []) as JsonObject[];
  };
  const bindings = [
    ...store.list('rbac.authorization.k8s.io/clusterrolebindings').map((b) => ({ b, ns: '' })),
    ...(a.namespace ? store.list('rbac.authorization.k8s.io/rolebindings', a.namespace).map((b) => ({ b, ns: a.namespace })) : []),
  ];
  for (const { b, ns } of bindings) {
    if (!((b.subjects ?? []) as JsonObject[]).some((s) => subjectMatches(s, user, ns))) continue;
    const ref = b.roleRef ?? {};
    // A ClusterRoleBinding may only name a ClusterRole.
    if (!ns && ref.kind !== 'ClusterRole') continue;
    if (rulesOf(ref.kind, ref.name, ns).some((r) => ruleMatches(r, a))) return true;
  }
  return false;
}

/** forbiddenFor is the 403 the API server answers, worded as it does. */
export function forbiddenFor(user: UserInfo, a: RequestAttributes): ApiError {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const what = a.name ? `${qualifiedResource(a.resource, a.group)} "${a.name}"` : qualifiedResource(a.resource, a.group);
  const scope = a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  return new ApiError(
    403,
    'Forbidden',
    `${what} is forbidden: User "${user.username}" cannot ${a.verb} resource "${resource}" in API group "${a.group}"${scope}`,
    { ...(a.name ? { name: a.name } : {}), group: a.group, kind: a.resource },
  );
}
