// Public surface of test/chaos/proxy: the fault-injecting TCP link proxy and
// the Network of one proxy per directed pair of members.
// It must never grow logic of its own; other folders import only from here.
export { startLinkProxy } from './link-proxy.ts';
export type { LinkProxy, LinkProxyOptions, LinkStats } from './link-proxy.ts';
export { startNetwork } from './network.ts';
export type { Network, NetworkOptions } from './network.ts';
export { checkFault, describeFault, PASS } from './faults.ts';
export type { Fault, FaultKind } from './faults.ts';
export { prng } from './prng.ts';
export type { Prng } from './prng.ts';
