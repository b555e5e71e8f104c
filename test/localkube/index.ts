// The local Kubernetes control plane and process kubelet, for tests and
// `npm start`: startLocalkube() runs one in this process.
// It must never be imported by product code (replica/, operator/): it is test tooling.
export { startLocalkube } from './localkube.ts';
export type { Localkube, LocalkubeOptions } from './localkube.ts';
