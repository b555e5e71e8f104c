// Who a request is: the bearer token of a pod's projected service account
// token authenticates as that ServiceAccount (system:serviceaccount:NS:NAME,
// groups system:serviceaccounts, system:serviceaccounts:NS,
// system:authenticated); any other token, or none, is the cluster admin, as
// localkube has always treated its kubeconfig.
// It must never decide what a user may do: rbac.ts does.

/** UserInfo is an authenticated user; admin is true for the all-powerful kubeconfig user. */
export interface UserInfo {
  username: string;
  groups: string[];
  admin: boolean;
}

const PREFIX = 'localkube-serviceaccount.';

export const ADMIN: UserInfo = { username: 'localkube-admin', groups: ['system:masters', 'system:authenticated'], admin: true };

/** serviceAccountToken is the token the kubelet projects into pods of namespace/name. */
export function serviceAccountToken(namespace: string, name: string): string {
  return PREFIX + Buffer.from(JSON.stringify([namespace, name])).toString('base64url');
}

/** serviceAccountUser is the user a ServiceAccount authenticates as. */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    admin: false,
  };
}

/** authenticate reads an Authorization header. */
export function authenticate(authorization: string | undefined): UserInfo {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m || !m[1].startsWith(PREFIX)) return ADMIN;
  try {
    const [namespace, name] = JSON.parse(Buffer.from(m[1].slice(PREFIX.length), 'base64url').toString('utf8')) as unknown[];
    if (typeof namespace === 'string' && typeof name === 'string' && namespace && name) return serviceAccountUser(namespace, name);
  } catch {
    // not one of ours: the admin, like any other token
  }
  return ADMIN;
}
