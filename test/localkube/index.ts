// The local Kubernetes control plane and process kubelet, for tests and
// `npm start`: startLocalkube() runs one in this process.
// It must never be imported by product code (replica/, operator/): it is test tooling.
export { startLocalkube } from './localkube.ts';
export type { Localkube, LocalkubeOptions } from './localkube.ts';
export { LocalkubeHooks } from './client/hooks-client.ts';
export type { ServiceInfo, ServiceEndpoint } from './client/hooks-client.ts';
export type { ImageEntry } from './kubelet/images.ts';
export { withLocalkube, kubectl, kubectlOk, runCollecting, kubectlStream, kubectlEnv, waitFor, processAlive, tempDir } from './testing.ts';
export type { KubectlResult, StreamingProcess } from './testing.ts';
export type { BackoffSettings } from './kubelet/backoff.ts';
export type { KubeObject } from './store/object.ts';
/** REPO_BIN (this checkout's node_modules/.bin, Node 24) and REPO_ROOT, for image maps. */
export { REPO_BIN, REPO_ROOT } from './kubelet/env.ts';
