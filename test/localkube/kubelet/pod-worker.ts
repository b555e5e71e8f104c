// The life of one pod on one node: set up (address, directories, volumes), run
// init containers in order, then the containers; probe them; restart them by
// restartPolicy with CrashLoopBackOff back-off; report status and Events; and on
// deletion stop them gracefully (preStop, SIGTERM, grace period, SIGKILL), clean
// up and delete the pod object for good. `sync()` is level-triggered: every
// change (pod update, exit, probe result, timer) calls it again.
// It must never leave a process running once the pod is gone or localkube stops.
import fs from 'node:fs';
import path from 'node:path';
import type { Api } from '../api/rest.ts';
import type { EventRecorder } from '../controllers/events.ts';
import type { ResourceType } from '../kinds/types.ts';
import type { JsonObject, KubeObject } from '../store/object.ts';
import { deepEqual, nowTimestamp } from '../store/object.ts';
import { RestartBackoff } from './backoff.ts';
import type { BackoffSettings } from './backoff.ts';
import { failedStart, findExecutable, startContainer } from './container.ts';
import type { ContainerExit, ContainerRun } from './container.ts';
import { ConfigError, containerEnv, expand, REPO_ROOT } from './env.ts';
import type { EnvLookup } from './env.ts';
import { ImageMap } from './images.ts';
import type { NetworkBlock } from './network.ts';
import { computePodStatus } from './pod-status.ts';
import type { ContainerView, PodView } from './pod-status.ts';
import { ContainerProber } from './probes.ts';
import type { ProbeTarget } from './probes.ts';
import { execInSandbox, runHook } from './exec.ts';
import { logTail } from './logs.ts';
import { launch } from './sandbox.ts';
import type { Mount, SandboxMode, SandboxSpec } from './sandbox.ts';
import { mountsFor, prepareVolumes, refreshVolumes, VolumeError } from './volumes.ts';

export interface WorkerDeps {
  api: Api;
  nodeName: string;
  hostIP: string;
  /** podsDir holds one directory per pod (logs, emptyDirs, projected files). */
  podsDir: string;
  /** claimDir maps a PVC to its directory, or says why it cannot be used. */
  claimDir(namespace: string, claim: string): { dir: string } | { error: string };
  images: ImageMap;
  sandbox: { mode: SandboxMode; pdeathsig: boolean };
  network: NetworkBlock;
  /** dns gives each pod its hosts file. */
  dns: { hostsFile(pod: { namespace: string; name: string; uid: string; ip: string; hostname: string; subdomain?: string }): string; release(file: string): void };
  recorder: EventRecorder;
  backoff: BackoffSettings;
  /** apiServer is the HTTPS address of the API server for in-cluster clients (KUBERNETES_SERVICE_HOST/PORT). */
  apiServer?: { host: string; port: number };
  /** frozen is true while the node is NotReady: the kubelet does nothing visible. */
  frozen(): boolean;
  onDone(uid: string): void;
}

interface ContainerState {
  spec: JsonObject;
  init: boolean;
  restartCount: number;
  /** starts counts the instances started (the log file number of the next one). */
  starts: number;
  run?: ContainerRun;
  runId?: string;
  prober?: ContainerProber;
  ready: boolean;
  started: boolean;
  waiting?: { reason: string; message?: string };
  lastExit?: ContainerExit & { containerID: string };
  terminated?: ContainerExit & { containerID: string };
  backoff: RestartBackoff;
  retryTimer?: NodeJS.Timeout;
  killTimer?: NodeJS.Timeout;
  /** killReason is set while the kubelet kills the container (liveness, deletion). */
  killReason?: string;
  /** sandbox is how the current instance was started (hooks and exec probes run the same way). */
  sandbox?: SandboxSpec;
  /** definitionChanged: the image was updated; the next start happens whatever the restartPolicy. */
  definitionChanged?: boolean;
}

const SOURCE = (node: string) => ({ component: 'kubelet', host: node });

export class PodWorker {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly #deps: WorkerDeps;
  readonly #pods: ResourceType;
  readonly #dir: string;
  readonly #containers: ContainerState[];
  #podIP?: string;
  #startTime?: string;
  #volumes?: Map<string, string>;
  #setupRetry?: NodeJS.Timeout;
  #failed?: { reason?: string; message?: string };
  #terminating = false;
  #finished = false;
  #syncScheduled = false;
  #lastSetupError = '';
  #hostsFile?: string;

  constructor(pod: KubeObject, deps: WorkerDeps) {
    this.uid = pod.metadata.uid!;
    this.namespace = pod.metadata.namespace!;
    this.name = pod.metadata.name;
    this.#deps = deps;
    this.#pods = deps.api.kinds.byKind('', 'Pod')!;
    this.#dir = path.join(deps.podsDir, `${this.namespace}_${this.name}_${this.uid}`);
    const previous = new Map<string, JsonObject>();
    for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) previous.set(cs.name, cs);
    const make = (spec: JsonObject, init: boolean): ContainerState => {
      const st: ContainerState = { spec, init, restartCount: 0, starts: 0, ready: false, started: false, backoff: new RestartBackoff(deps.backoff) };
      // A pod that already ran (localkube restarted from a state file): its containers restart.
      const prev = previous.get(spec.name);
      if (prev) {
        st.restartCount = prev.restartCount ?? 0;
        if (prev.state?.running || prev.state?.terminated || prev.lastState?.terminated) st.starts = st.restartCount + 1;
        const t = prev.state?.terminated;
        if (init && t?.exitCode === 0) st.terminated = { exitCode: 0, reason: 'Completed', startedAt: t.startedAt, finishedAt: t.finishedAt, finishedMs: Date.parse(t.finishedAt), ranMs: 0, containerID: t.containerID ?? '' };
      }
      return st;
    };
    this.#containers = [
      ...((pod.spec?.initContainers ?? []) as JsonObject[]).map((c) => make(c, true)),
      ...((pod.spec?.containers ?? []) as JsonObject[]).map((c) => make(c, false)),
    ];
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** scheduleSync runs sync soon (once, however often it is asked). */
  scheduleSync(): void {
    if (this.#syncScheduled || this.#finished) return;
    this.#syncScheduled = true;
    setImmediate(() => {
      this.#syncScheduled = false;
      try {
        this.sync();
      } catch (err) {
        process.emitWarning(`localkube kubelet: pod ${this.namespace}/${this.name}: ${(err as Error).stack ?? err}`);
      }
    });
  }

  #pod(): KubeObject | undefined {
    const pod = this.#deps.api.store.get('/pods', this.namespace, this.name);
    return pod && pod.metadata.uid === this.uid ? pod : undefined;
  }

  /** sync moves the pod one step towards its spec. */
  sync(): void {
    if (this.#finished || this.#deps.frozen()) return;
    const pod = this.#pod();
    if (!pod) {
      this.#forceStop();
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      this.#terminate(pod);
      return;
    }
    if (!this.#volumes && !this.#setup(pod)) {
      this.#writeStatus(pod);
      return;
    }
    if (!this.#failed) this.#runContainers(pod);
    this.#writeStatus(pod);
  }

  // ---- set-up ----

  #setup(pod: KubeObject): boolean {
    const deps = this.#deps;
    if (!this.#podIP) {
      const existing = pod.status?.podIP;
      if (existing && deps.network.owns(existing)) {
        deps.network.pods.claim(existing);
        this.#podIP = existing;
      } else {
        this.#podIP = deps.network.pods.allocate();
        if (!this.#podIP) {
          this.#setupFailed(pod, 'FailedCreatePodSandBox', 'no pod address left in this localkube address block');
          return false;
        }
      }
      this.#startTime = pod.status?.startTime ?? nowTimestamp(deps.api.clock);
    }
    this.#hostsFile ??= deps.dns.hostsFile({
      namespace: this.namespace,
      name: this.name,
      uid: this.uid,
      ip: this.#podIP!,
      hostname: pod.spec?.hostname ?? this.name,
      subdomain: pod.spec?.subdomain,
    });
    const lookup = this.#lookup();
    try {
      fs.mkdirSync(this.#dir, { recursive: true });
      this.#volumes = prepareVolumes(this.#withAddresses(pod), this.#dir, {
        configMap: lookup.configMap,
        secret: lookup.secret,
        claimDir: (claim) => deps.claimDir(this.namespace, claim),
      });
      return true;
    } catch (err) {
      if (!(err instanceof VolumeError)) throw err;
      this.#setupFailed(pod, err.reason, err.message);
      return false;
    }
  }

  /** refreshVolumes updates the files of this pod's configMap, secret and projected volumes from their objects (after a change in its namespace). */
  refreshVolumes(): void {
    if (this.#finished || !this.#volumes) return;
    const pod = this.#pod();
    if (!pod || pod.metadata.deletionTimestamp) return;
    const lookup = this.#lookup();
    refreshVolumes(this.#withAddresses(pod), this.#volumes, lookup);
  }

  /** withAddresses is the pod as the downward API sees it: with the addresses the kubelet assigned, even before the status says so. */
  #withAddresses(pod: KubeObject): KubeObject {
    const ips = { podIP: this.#podIP, podIPs: [{ ip: this.#podIP }], hostIP: this.#deps.hostIP, hostIPs: [{ ip: this.#deps.hostIP }] };
    return { ...pod, status: { ...pod.status, ...ips } };
  }

  #setupFailed(pod: KubeObject, reason: string, message: string): void {
    if (message !== this.#lastSetupError) {
      this.#lastSetupError = message;
      this.#deps.recorder.record(pod, 'Warning', reason, message, SOURCE(this.#deps.nodeName));
    }
    clearTimeout(this.#setupRetry);
    this.#setupRetry = setTimeout(() => this.scheduleSync(), 1000);
    this.#setupRetry.unref();
  }

  #lookup(): EnvLookup {
    const api = this.#deps.api;
    return {
      configMap: (name) => api.store.get('/configmaps', this.namespace, name),
      secret: (name) => api.store.get('/secrets', this.namespace, name),
      services: () => api.store.list('/services', this.namespace),
      apiServer: this.#deps.apiServer,
    };
  }

  // ---- running containers ----

  /** applyImageUpdates restarts containers whose image changed (the only mutable part of a pod's containers). */
  #applyImageUpdates(pod: KubeObject): void {
    for (const st of this.#containers) {
      const list: JsonObject[] = (st.init ? pod.spec.initContainers : pod.spec.containers) ?? [];
      const spec = list.find((c) => c.name === st.spec.name);
      if (!spec || spec.image === st.spec.image) continue;
      st.spec = spec;
      st.definitionChanged = true;
      st.backoff = new RestartBackoff(this.#deps.backoff);
      clearTimeout(st.retryTimer);
      st.retryTimer = undefined;
      if (st.terminated) {
        st.lastExit = st.terminated;
        st.terminated = undefined;
      }
      if (st.run) {
        this.#deps.recorder.record(pod, 'Normal', 'Killing', `Container ${spec.name} definition changed, will be restarted`, SOURCE(this.#deps.nodeName), this.#fieldPath(st));
        void this.#kill(st, pod.spec.terminationGracePeriodSeconds ?? 30, 'definition changed');
      }
    }
  }

  #runContainers(pod: KubeObject): void {
    this.#applyImageUpdates(pod);
    for (const st of this.#containers.filter((c) => c.init)) {
      if (st.terminated && st.terminated.exitCode === 0) continue;
      if (st.run) return; // running: wait for it
      if (st.lastExit && st.lastExit.exitCode === 0) {
        st.terminated = st.lastExit;
        st.lastExit = undefined;
        continue;
      }
      if (st.lastExit && pod.spec.restartPolicy === 'Never') {
        st.terminated = st.lastExit;
        this.#failed = { reason: undefined, message: undefined };
        return;
      }
      this.#ensureRunning(pod, st);
      return;
    }
    for (const st of this.#containers.filter((c) => !c.init)) this.#ensureRunning(pod, st);
  }

  #shouldRestart(pod: KubeObject, exit: ContainerExit): boolean {
    const policy = pod.spec.restartPolicy ?? 'Always';
    return policy === 'Always' || (policy === 'OnFailure' && exit.exitCode !== 0);
  }

  #ensureRunning(pod: KubeObject, st: ContainerState): void {
    if (st.run || st.terminated || st.retryTimer) return;
    const exit = st.lastExit;
    if (exit && st.definitionChanged) {
      st.definitionChanged = false;
    } else if (exit) {
      if (!st.init && !this.#shouldRestart(pod, exit)) {
        st.terminated = exit;
        st.lastExit = undefined;
        st.waiting = undefined;
        return;
      }
      const wait = st.backoff.waitMs(exit.finishedMs, exit.ranMs, Date.now());
      if (wait > 0) {
        const message = `back-off ${Math.round(st.backoff.currentMs / 1000)}s restarting failed container=${st.spec.name} pod=${this.name}_${this.namespace}(${this.uid})`;
        if (st.waiting?.reason !== 'CrashLoopBackOff') {
          this.#deps.recorder.record(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${st.spec.name} in pod ${this.name}_${this.namespace}(${this.uid})`, SOURCE(this.#deps.nodeName), this.#fieldPath(st));
        }
        st.waiting = { reason: 'CrashLoopBackOff', message };
        this.#retryAfter(st, wait);
        return;
      }
      st.backoff.restarted();
    }
    this.#start(pod, st);
  }

  #retryAfter(st: ContainerState, ms: number): void {
    clearTimeout(st.retryTimer);
    st.retryTimer = setTimeout(() => {
      st.retryTimer = undefined;
      this.scheduleSync();
    }, ms);
    st.retryTimer.unref();
  }

  #fieldPath(st: ContainerState): string {
    return `spec.${st.init ? 'initContainers' : 'containers'}{${st.spec.name}}`;
  }

  #start(pod: KubeObject, st: ContainerState): void {
    const deps = this.#deps;
    const src = SOURCE(deps.nodeName);
    const image = String(st.spec.image);
    const entry = deps.images.resolve(image);
    if (!entry) {
      const first = st.waiting?.reason !== 'ErrImagePull' && st.waiting?.reason !== 'ImagePullBackOff';
      const message = `failed to pull image "${image}": localkube has no local command for image "${image}" (map it with --image ${image.split(':')[0]}='["command","arg"]' or --image-map FILE)`;
      if (first || st.waiting?.reason === 'ImagePullBackOff') {
        deps.recorder.record(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${message}`, src, this.#fieldPath(st));
        deps.recorder.record(pod, 'Warning', 'Failed', 'Error: ErrImagePull', src, this.#fieldPath(st));
        st.waiting = { reason: 'ErrImagePull', message };
      } else {
        deps.recorder.record(pod, 'Normal', 'BackOff', `Back-off pulling image "${image}"`, src, this.#fieldPath(st));
        st.waiting = { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ${message}` };
      }
      this.#retryAfter(st, Math.min(deps.backoff.initialMs, 5000));
      return;
    }
    const hostname = pod.spec.hostname ?? pod.metadata.name;
    let env: Record<string, string>;
    try {
      env = containerEnv(this.#withAddresses(pod), st.spec, entry.env ?? {}, this.#lookup(), hostname);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      if (st.waiting?.message !== err.message) deps.recorder.record(pod, 'Warning', 'Failed', `Error: ${err.message}`, src, this.#fieldPath(st));
      st.waiting = { reason: 'CreateContainerConfigError', message: err.message };
      this.#retryAfter(st, 1000);
      return;
    }
    const argv = ImageMap.argv(entry, st.spec.command, st.spec.args).map((a) => expand(a, env));
    const workingDir = st.spec.workingDir || entry.workingDir || REPO_ROOT;
    const mounts = mountsFor(st.spec, this.#volumes!, (s) => expand(s, env));
    const runId = `localkube://${this.uid}/${st.spec.name}/${st.starts}`;
    deps.recorder.record(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, src, this.#fieldPath(st));
    const startError = this.#checkCommand(argv, env, workingDir, mounts);
    const logFile = path.join(this.#dir, 'logs', st.spec.name, `${st.starts}.log`);
    st.restartCount = st.starts;
    st.starts++;
    st.waiting = undefined;
    if (startError) {
      fs.mkdirSync(path.dirname(logFile), { recursive: true });
      fs.writeFileSync(logFile, '');
      deps.recorder.record(pod, 'Warning', 'Failed', `Error: ${startError}`, src, this.#fieldPath(st));
      st.lastExit = { ...failedStart(startError), containerID: runId };
      this.scheduleSync();
      return;
    }
    deps.recorder.record(pod, 'Normal', 'Created', `Created container ${st.spec.name}`, src, this.#fieldPath(st));
    const spec = {
      hostsFile: this.#hostsFile!,
      hostname,
      workingDir,
      mounts,
      argv,
      env,
    };
    const run = startContainer(launch(spec, deps.sandbox.mode, deps.sandbox.pdeathsig), logFile);
    st.sandbox = spec;
    st.run = run;
    st.runId = runId;
    st.ready = false;
    st.started = false;
    deps.recorder.record(pod, 'Normal', 'Started', `Started container ${st.spec.name}`, src, this.#fieldPath(st));
    if (!st.init) {
      const postStart = st.spec.lifecycle?.postStart;
      if (postStart) {
        void this.#runHook(st, postStart, (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000).then((r) => {
          const p = this.#pod();
          if (r.ok || !p || st.run !== run) return;
          deps.recorder.record(p, 'Warning', 'FailedPostStartHook', `PostStartHook failed: ${r.message}`, src, this.#fieldPath(st));
          this.#kill(st, 0, 'FailedPostStartHook');
        });
      }
      st.prober = new ContainerProber(st.spec, this.#probeTarget(st, spec), {
        started: () => {
          st.started = true;
          this.scheduleSync();
        },
        ready: (ready) => {
          st.ready = ready;
          this.scheduleSync();
        },
        unhealthy: (kind, message) => {
          const p = this.#pod();
          if (p) deps.recorder.record(p, 'Warning', 'Unhealthy', `${kind} probe failed: ${message}`, src, this.#fieldPath(st));
        },
        failed: (kind, message) => {
          const p = this.#pod();
          if (!p || st.run !== run) return;
          deps.recorder.record(p, 'Normal', 'Killing', `Container ${st.spec.name} failed ${kind.toLowerCase()} probe, will be restarted`, src, this.#fieldPath(st));
          const probe = kind === 'Liveness' ? st.spec.livenessProbe : st.spec.startupProbe;
          this.#kill(st, probe?.terminationGracePeriodSeconds ?? p.spec.terminationGracePeriodSeconds ?? 30, `${kind} probe failed: ${message}`);
        },
      });
      st.prober.start();
    } else {
      st.started = true;
    }
    void run.exited.then((exit) => this.#onExit(st, run, exit));
  }

  /** checkCommand reports an unrunnable command as the runtime would (StartError). */
  #checkCommand(argv: string[], env: Record<string, string>, workingDir: string, mounts: Mount[]): string | undefined {
    if (argv.length === 0) return 'failed to create containerd task: no command specified';
    const cmd = argv[0];
    // Commands inside a volume only exist in the sandbox: let the sandbox find them.
    if (mounts.some((m) => cmd === m.target || cmd.startsWith(`${m.target}/`))) return undefined;
    if (!fs.existsSync(workingDir) && !mounts.some((m) => workingDir.startsWith(m.target))) {
      return `failed to create containerd task: chdir to cwd ("${workingDir}") set in config.json failed: no such file or directory`;
    }
    if (!findExecutable(cmd, env.PATH ?? '', workingDir)) {
      return `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${cmd}": executable file not found in $PATH: unknown`;
    }
    return undefined;
  }

  #probeTarget(st: ContainerState, spec: SandboxSpec): ProbeTarget {
    const { mode, pdeathsig } = this.#deps.sandbox;
    return {
      podIP: this.#podIP!,
      ports: st.spec.ports ?? [],
      exec: (argv, timeoutMs) => execInSandbox(spec, mode, pdeathsig, argv, timeoutMs),
    };
  }

  #onExit(st: ContainerState, run: ContainerRun, exit: ContainerExit): void {
    if (st.run !== run) return;
    clearTimeout(st.killTimer);
    st.prober?.stop();
    st.prober = undefined;
    st.run = undefined;
    st.ready = false;
    st.started = false;
    let message = st.killReason && exit.reason !== 'Completed' ? undefined : exit.message;
    // terminationMessagePolicy FallbackToLogsOnError: a failed container's message is the end of its log.
    if (!message && exit.exitCode !== 0 && st.spec.terminationMessagePolicy === 'FallbackToLogsOnError') message = logTail(run.logFile) || undefined;
    st.killReason = undefined;
    st.lastExit = { ...exit, ...(message ? { message } : {}), containerID: st.runId! };
    this.scheduleSync();
  }

  /** kill stops one container: SIGTERM to its group, SIGKILL after the grace period. */
  #kill(st: ContainerState, graceSeconds: number, reason: string): Promise<void> {
    const run = st.run;
    if (!run) return Promise.resolve();
    st.killReason = reason;
    st.prober?.stop();
    const done = run.exited.then(() => undefined);
    run.signal(graceSeconds > 0 ? 'SIGTERM' : 'SIGKILL');
    if (graceSeconds > 0) {
      clearTimeout(st.killTimer);
      st.killTimer = setTimeout(() => run.signal('SIGKILL'), graceSeconds * 1000);
      st.killTimer.unref();
    }
    return done;
  }

  // ---- test hooks ----

  /** container finds a container by name (default: the first app container). */
  #container(name?: string): ContainerState {
    const st = name ? this.#containers.find((c) => c.spec.name === name) : this.#containers.find((c) => !c.init);
    if (!st) throw new Error(`pod ${this.namespace}/${this.name} has no container ${name ?? ''}`);
    return st;
  }

  /** signal sends a signal to a container's process group (crash: SIGKILL, pause: SIGSTOP, resume: SIGCONT). */
  signal(sig: NodeJS.Signals, container?: string): boolean {
    const st = this.#container(container);
    if (!st.run) return false;
    st.run.signal(sig);
    return true;
  }

  /** pids lists the main process ids of the running containers. */
  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.#containers) if (c.run) out[c.spec.name] = c.run.pid;
    return out;
  }

  /** logFile returns a container instance's log file (previous: the one before the current). */
  logFile(container: string, previous: boolean): { file: string; running: () => boolean } | undefined {
    const st = this.#containers.find((c) => c.spec.name === container);
    if (!st || st.starts === 0) return undefined;
    const current = st.starts - 1;
    const index = previous ? current - 1 : current;
    if (index < 0) return undefined;
    const file = path.join(this.#dir, 'logs', container, `${index}.log`);
    const run = st.run;
    return { file, running: () => !previous && !!run && st.run === run && run.running };
  }

  /** killAll kills every process at once (node crash). */
  killAll(): void {
    for (const st of this.#containers) st.run?.signal('SIGKILL');
  }

  /** setFrozen pauses probes while the node is NotReady. */
  setFrozen(frozen: boolean): void {
    for (const st of this.#containers) st.prober?.setPaused(frozen);
    if (!frozen) this.scheduleSync();
  }

  // ---- status ----

  #view(): PodView {
    const views: ContainerView[] = this.#containers.map((st) => ({
      name: st.spec.name,
      image: st.spec.image,
      init: st.init,
      restartCount: st.restartCount,
      running: st.run ? { startedAt: st.run.startedAt, containerID: st.runId! } : undefined,
      waiting: st.run || st.terminated ? undefined : st.waiting,
      terminated: st.terminated,
      lastExit: st.lastExit,
      ready: st.ready,
      started: st.started,
    }));
    return {
      setupDone: !!this.#volumes,
      podIP: this.#podIP,
      hostIP: this.#deps.hostIP,
      startTime: this.#startTime,
      containers: views,
      failed: this.#failed,
    };
  }

  #writeStatus(pod: KubeObject): void {
    if (this.#deps.frozen()) return;
    const status = computePodStatus(pod, this.#view(), nowTimestamp(this.#deps.api.clock));
    if (deepEqual(status, pod.status)) return;
    this.#deps.api.mutate(this.#pods, this.namespace, this.name, (p) => {
      if (p.metadata.uid !== this.uid) return false;
      p.status = status;
    }, 'status');
  }

  // ---- termination ----

  #terminate(pod: KubeObject): void {
    if (this.#terminating) return;
    this.#terminating = true;
    const deps = this.#deps;
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    const deadline = Date.now() + grace * 1000;
    clearTimeout(this.#setupRetry);
    const stops = this.#containers.map(async (st) => {
      clearTimeout(st.retryTimer);
      st.retryTimer = undefined;
      if (!st.run) return;
      deps.recorder.record(pod, 'Normal', 'Killing', `Stopping container ${st.spec.name}`, SOURCE(deps.nodeName), this.#fieldPath(st));
      st.prober?.stop();
      await this.#preStop(st, deadline);
      await this.#kill(st, Math.max(0, Math.ceil((deadline - Date.now()) / 1000)), 'deleted');
    });
    void Promise.all(stops).then(() => this.#finishTermination());
  }

  /** runHook runs a postStart or preStop handler of the container's current instance. */
  #runHook(st: ContainerState, hook: JsonObject, budgetMs: number): Promise<{ ok: boolean; message: string }> {
    if (!st.sandbox) return Promise.resolve({ ok: false, message: 'container is not running' });
    return runHook(hook, this.#probeTarget(st, st.sandbox), budgetMs);
  }

  async #preStop(st: ContainerState, deadline: number): Promise<void> {
    const hook = st.spec.lifecycle?.preStop;
    if (!hook || !st.run) return;
    const result = await this.#runHook(st, hook, Math.max(0, deadline - Date.now()));
    const pod = this.#pod();
    if (!result.ok && pod) {
      this.#deps.recorder.record(pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${result.message}`, SOURCE(this.#deps.nodeName), this.#fieldPath(st));
    }
  }

  #finishTermination(): void {
    if (this.#finished) return;
    if (this.#deps.frozen()) {
      // The node is away: the pod stays Terminating until it comes back.
      this.#pendingFinish = true;
      return;
    }
    const pod = this.#pod();
    for (const st of this.#containers) {
      if (st.lastExit && !st.terminated) {
        st.terminated = st.lastExit;
        st.lastExit = undefined;
      }
    }
    if (pod) {
      const view = this.#view();
      const allOk = view.containers.filter((c) => !c.init).every((c) => c.terminated?.exitCode === 0);
      const status = computePodStatus(pod, view, nowTimestamp(this.#deps.api.clock));
      if (status.phase === 'Running' || status.phase === 'Pending') status.phase = allOk ? 'Succeeded' : 'Failed';
      this.#deps.api.mutate(this.#pods, this.namespace, this.name, (p) => {
        if (p.metadata.uid !== this.uid) return false;
        p.status = status;
      }, 'status');
    }
    this.#cleanUp();
    if (pod) {
      try {
        this.#deps.api.delete(this.#pods, this.namespace, this.name, { gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
      } catch {
        // already gone, or replaced by a new pod of the same name
      }
    }
  }

  #pendingFinish = false;

  /** resume finishes work deferred while the node was NotReady. */
  resume(): void {
    if (this.#pendingFinish) {
      this.#pendingFinish = false;
      this.#finishTermination();
      return;
    }
    this.setFrozen(false);
  }

  #forceStop(): void {
    this.#terminating = true;
    for (const st of this.#containers) {
      clearTimeout(st.retryTimer);
      st.prober?.stop();
      st.run?.signal('SIGKILL');
    }
    const running = this.#containers.filter((c) => c.run).map((c) => c.run!.exited);
    void Promise.all(running).then(() => this.#cleanUp());
  }

  /** stop kills everything now (localkube is stopping); nothing is written. */
  async stop(): Promise<void> {
    this.#finished = true;
    clearTimeout(this.#setupRetry);
    const exits: Promise<unknown>[] = [];
    for (const st of this.#containers) {
      clearTimeout(st.retryTimer);
      clearTimeout(st.killTimer);
      st.prober?.stop();
      if (st.run) {
        st.run.signal('SIGKILL');
        exits.push(st.run.exited);
      }
    }
    await Promise.all(exits);
  }

  #cleanUp(): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#setupRetry);
    for (const st of this.#containers) clearTimeout(st.retryTimer);
    if (this.#podIP) this.#deps.network.pods.release(this.#podIP);
    if (this.#hostsFile) this.#deps.dns.release(this.#hostsFile);
    // emptyDir and projected volumes go with the pod; claim directories live elsewhere.
    fs.rmSync(path.join(this.#dir, 'volumes'), { recursive: true, force: true });
    this.#deps.onDone(this.uid);
  }
}
