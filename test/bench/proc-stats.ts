// Reads a process's CPU time and memory from /proc (Linux): utime+stime from
// /proc/PID/stat, VmRSS and VmHWM from /proc/PID/status. Used to compare what
// etcd and replicant members cost during a run. It must never signal or
// otherwise touch the processes it reads.
import fs from 'node:fs';

/** CLOCK_TICKS is USER_HZ, the unit of utime/stime (100 on every Linux we run on). */
export const CLOCK_TICKS = 100;

export interface ProcSample {
  /** user + system CPU seconds since the process started */
  cpuSeconds: number;
  /** resident set size now, bytes */
  rssBytes: number;
  /** peak resident set size since start, bytes */
  hwmBytes: number;
  /** the part of RSS that is anonymous memory (heaps) and file-backed (code, mmapped files) */
  rssAnonBytes: number;
  rssFileBytes: number;
}

/** parseStat extracts utime+stime (in seconds) from the text of /proc/PID/stat. */
export function parseStat(text: string): number {
  // The command name (field 2) may hold spaces and parentheses: fields after it start past the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc stat line: ${text.slice(0, 120)}`);
  return (utime + stime) / CLOCK_TICKS;
}

/** parseStatusKb reads a "Name:   123 kB" line of /proc/PID/status, in bytes (0 if absent). */
export function parseStatusKb(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

/** sampleProcess reads one sample, or undefined if the process is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return {
      cpuSeconds: parseStat(stat),
      rssBytes: parseStatusKb(status, 'VmRSS'),
      hwmBytes: parseStatusKb(status, 'VmHWM'),
      rssAnonBytes: parseStatusKb(status, 'RssAnon'),
      rssFileBytes: parseStatusKb(status, 'RssFile'),
    };
  } catch {
    return undefined;
  }
}

/** ProcessUsage is one process's use over a window. */
export interface ProcessUsage {
  cpuSeconds: number;
  /** share of one core over the window (1 = a full core) */
  cpuCores: number;
  rssMaxBytes: number;
  rssEndBytes: number;
  /** at the end of the window: anonymous and file-backed parts of RSS */
  rssAnonEndBytes: number;
  rssFileEndBytes: number;
}

/**
 * UsageWindow samples a set of processes at its start, every `everyMs` (for
 * the RSS peak within the window) and at its end.
 */
export class UsageWindow {
  private readonly pids: Map<string, number>;
  private readonly start = new Map<string, ProcSample>();
  private readonly rssMax = new Map<string, number>();
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(pids: Map<string, number>) {
    this.pids = pids;
  }

  open(): void {
    this.startedAt = performance.now();
    for (const [name, pid] of this.pids) {
      const s = sampleProcess(pid);
      if (s) {
        this.start.set(name, s);
        this.rssMax.set(name, s.rssBytes);
      }
    }
    this.timer = setInterval(() => this.sampleRss(), 200);
    this.timer.unref();
  }

  private sampleRss(): void {
    for (const [name, pid] of this.pids) {
      const s = sampleProcess(pid);
      if (s) this.rssMax.set(name, Math.max(this.rssMax.get(name) ?? 0, s.rssBytes));
    }
  }

  /** close ends the window and returns each process's use (processes gone meanwhile are left out). */
  close(): Map<string, ProcessUsage> {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.startedAt) / 1000;
    const out = new Map<string, ProcessUsage>();
    for (const [name, pid] of this.pids) {
      const a = this.start.get(name);
      const b = sampleProcess(pid);
      if (!a || !b) continue;
      const cpu = b.cpuSeconds - a.cpuSeconds;
      out.set(name, {
        cpuSeconds: cpu,
        cpuCores: seconds > 0 ? cpu / seconds : 0,
        rssMaxBytes: Math.max(this.rssMax.get(name) ?? 0, b.rssBytes),
        rssEndBytes: b.rssBytes,
        rssAnonEndBytes: b.rssAnonBytes,
        rssFileEndBytes: b.rssFileBytes,
      });
    }
    return out;
  }
}

/** loadAverage reads /proc/loadavg's 1, 5 and 15 minute figures. */
export function loadAverage(): [number, number, number] {
  try {
    const [a, b, c] = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
    return [a, b, c];
  } catch {
    return [NaN, NaN, NaN];
  }
}
