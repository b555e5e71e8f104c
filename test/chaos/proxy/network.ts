// Network is a set of members with one LinkProxy per directed pair: member A
// reaches member B only by dialing dialAddress(A, B), which forwards to B's
// peer address. Replicas send raft messages A→B only on connections A opened
// to B, so cutting the proxy A→B is a one-way partition, and cutting both
// directions a full one. The topology helpers (partition, isolate, oneWay,
// bridge) each set the whole network at once, like Jepsen's grudges: links they
// do not cut get the base fault (pass, unless setAll chose another).
// It must never leave a link it was asked to cut passing traffic, and never
// start a proxy outside 127.0.0.0/8.
import { startLinkProxy } from './link-proxy.ts';
import type { LinkProxy } from './link-proxy.ts';
import { describeFault, PASS, checkFault } from './faults.ts';
import { parseLoopbackEndpoint } from './address.ts';
import type { Fault } from './faults.ts';

export interface NetworkOptions {
  /** Member name -> the `127.x.y.z:port` that member listens on for its peers. */
  readonly members: Readonly<Record<string, string>>;
  /** What a cut link does: reset and refuse connections (`partition`, default) or swallow them (`blackhole`). */
  readonly cut?: 'partition' | 'blackhole';
  /** Host the proxies listen on; default 127.0.0.1 (each proxy gets its own free port). */
  readonly listenHost?: string;
}

export interface Network {
  /** Member names, sorted. */
  members(): string[];
  /** dialAddress is the `host:port` that `from` must dial to reach `to`. */
  dialAddress(from: string, to: string): string;
  /** link is the proxy carrying from→to (for stats, or faults the helpers do not cover). */
  link(from: string, to: string): LinkProxy;
  /** setLink sets one directed link's fault, leaving every other link as it is. */
  setLink(from: string, to: string, fault: Fault): void;
  /** setAll makes `fault` the base fault and applies it to every link (clearing cuts). */
  setAll(fault: Fault): void;
  /** partition cuts every link between the two groups, both ways; all other links get the base fault. */
  partition(groupA: readonly string[], groupB: readonly string[]): void;
  /** isolate cuts a member off from every other member, both ways. */
  isolate(member: string): void;
  /** oneWay cuts only from→to: `to` still reaches `from`. */
  oneWay(from: string, to: string): void;
  /** bridge cuts left from right, both ways, while `middle` still talks to both sides. */
  bridge(left: readonly string[], middle: string, right: readonly string[]): void;
  /** heal sets every link (and the base fault) to pass. */
  heal(): void;
  /** addMember adds a member and the proxies to and from it (with the base fault). */
  addMember(name: string, target: string): Promise<void>;
  /** removeMember stops the proxies to and from a member and forgets it. */
  removeMember(name: string): Promise<void>;
  /** describe lists the links whose fault is not pass, e.g. `a->b partition, b->a partition`. */
  describe(): string;
  /** stop stops every proxy. */
  stop(): Promise<void>;
}

/** startNetwork starts a proxy for every directed pair of members. */
export async function startNetwork(options: NetworkOptions): Promise<Network> {
  const network = new LinkNetwork(options.cut ?? 'partition', options.listenHost ?? '127.0.0.1');
  try {
    for (const [name, target] of Object.entries(options.members)) await network.addMember(name, target);
  } catch (err) {
    await network.stop();
    throw err;
  }
  return network;
}

class LinkNetwork implements Network {
  readonly #cut: Fault;
  readonly #listenHost: string;
  readonly #targets = new Map<string, string>();
  /** from -> to -> proxy */
  readonly #links = new Map<string, Map<string, LinkProxy>>();
  #base: Fault = PASS;
  #stopped = false;

  constructor(cut: 'partition' | 'blackhole', listenHost: string) {
    if (cut !== 'partition' && cut !== 'blackhole') throw new Error(`network: cut must be "partition" or "blackhole", got ${JSON.stringify(cut)}`);
    this.#cut = { kind: cut };
    this.#listenHost = parseLoopbackEndpoint(`${listenHost}:0`, 'listenHost').host;
  }

  members(): string[] {
    return [...this.#targets.keys()].sort();
  }

  dialAddress(from: string, to: string): string {
    return this.link(from, to).endpoint;
  }

  link(from: string, to: string): LinkProxy {
    this.#known(from);
    this.#known(to);
    if (from === to) throw new Error(`network: a member has no link to itself (${from})`);
    return this.#links.get(from)!.get(to)!;
  }

  setLink(from: string, to: string, fault: Fault): void {
    apply(this.link(from, to), checkFault(fault));
  }

  setAll(fault: Fault): void {
    this.#base = checkFault(fault);
    this.#setEach(() => false);
  }

  partition(groupA: readonly string[], groupB: readonly string[]): void {
    const a = this.#group(groupA, 'first group');
    const b = this.#group(groupB, 'second group');
    for (const m of a) if (b.has(m)) throw new Error(`network: ${m} is in both groups of a partition`);
    this.#setEach((from, to) => (a.has(from) && b.has(to)) || (b.has(from) && a.has(to)));
  }

  isolate(member: string): void {
    this.#known(member);
    this.partition(
      [member],
      this.members().filter((m) => m !== member),
    );
  }

  oneWay(from: string, to: string): void {
    this.link(from, to);
    this.#setEach((f, t) => f === from && t === to);
  }

  bridge(left: readonly string[], middle: string, right: readonly string[]): void {
    this.#known(middle);
    if (left.includes(middle) || right.includes(middle)) throw new Error(`network: the bridge ${middle} cannot be in either side`);
    this.partition(left, right);
  }

  heal(): void {
    this.#base = PASS;
    this.#setEach(() => false);
  }

  async addMember(name: string, target: string): Promise<void> {
    if (this.#stopped) throw new Error('network: stopped');
    if (typeof name !== 'string' || name === '' || /\s/.test(name)) throw new Error(`network: member names are non-empty words, got ${JSON.stringify(name)}`);
    if (this.#targets.has(name)) throw new Error(`network: member ${name} already exists`);
    parseLoopbackEndpoint(target, `target of member ${name}`);
    const started: LinkProxy[] = [];
    const listen = `${this.#listenHost}:0`;
    try {
      const outgoing = new Map<string, LinkProxy>();
      for (const [other, otherTarget] of this.#targets) {
        const toOther = await startLinkProxy({ listen, target: otherTarget, fault: this.#base });
        started.push(toOther);
        outgoing.set(other, toOther);
        const fromOther = await startLinkProxy({ listen, target, fault: this.#base });
        started.push(fromOther);
        this.#links.get(other)!.set(name, fromOther);
      }
      this.#links.set(name, outgoing);
      this.#targets.set(name, target);
    } catch (err) {
      for (const [, to] of this.#links) to.delete(name);
      await Promise.all(started.map((p) => p.stop()));
      throw err;
    }
  }

  async removeMember(name: string): Promise<void> {
    this.#known(name);
    const stopping: Promise<void>[] = [];
    for (const proxy of this.#links.get(name)!.values()) stopping.push(proxy.stop());
    for (const [from, to] of this.#links) {
      if (from === name) continue;
      const proxy = to.get(name);
      if (proxy) stopping.push(proxy.stop());
      to.delete(name);
    }
    this.#links.delete(name);
    this.#targets.delete(name);
    await Promise.all(stopping);
  }

  describe(): string {
    const faulty: string[] = [];
    for (const from of this.members()) {
      for (const to of this.members()) {
        if (from === to) continue;
        const f = this.#links.get(from)!.get(to)!.fault;
        if (f.kind !== 'pass') faulty.push(`${from}->${to} ${describeFault(f)}`);
      }
    }
    return faulty.length === 0 ? 'all links pass' : faulty.join(', ');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const all: Promise<void>[] = [];
    for (const to of this.#links.values()) for (const proxy of to.values()) all.push(proxy.stop());
    this.#links.clear();
    this.#targets.clear();
    await Promise.all(all);
  }

  #setEach(isCut: (from: string, to: string) => boolean): void {
    for (const [from, to] of this.#links) {
      for (const [dest, proxy] of to) apply(proxy, isCut(from, dest) ? this.#cut : this.#base);
    }
  }

  #known(member: string): void {
    if (!this.#targets.has(member)) {
      throw new Error(`network: unknown member ${JSON.stringify(member)} (members: ${this.members().join(', ') || 'none'})`);
    }
  }

  #group(members: readonly string[], what: string): Set<string> {
    if (!Array.isArray(members)) throw new Error(`network: the ${what} must be an array of member names`);
    for (const m of members) this.#known(m);
    return new Set(members);
  }
}

/** apply sets a fault unless the link already has exactly that fault (so a repeated cut does not reset again). */
function apply(proxy: LinkProxy, fault: Fault): void {
  if (JSON.stringify(proxy.fault) !== JSON.stringify(fault)) proxy.setFault(fault);
}
