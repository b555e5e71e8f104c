// Describes the machine a benchmark ran on (CPU, cores, memory, disk holding
// the data dirs, kernel, Node and etcd versions, load average), so recorded
// figures can be read in context. It must never change anything it inspects.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAverage } from './proc-stats.ts';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  /** the block device and file system holding os.tmpdir() (where the data dirs live) */
  disk: string;
  node: string;
  etcd: string;
  loadAverage: [number, number, number];
}

function readOr(file: string, fallback = ''): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** diskOf names the mount (device, fs type, options) holding `dir`, and the device's size and rotational flag when known. */
export function diskOf(dir: string): string {
  const mounts = readOr('/proc/mounts')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length >= 4);
  const real = fs.realpathSync(dir);
  let best: string[] | undefined;
  for (const f of mounts) {
    const mp = f[1];
    if ((real === mp || real.startsWith(mp.endsWith('/') ? mp : `${mp}/`)) && (!best || mp.length > best[1].length)) best = f;
  }
  if (!best) return 'unknown';
  const dev = best[0];
  let extra = '';
  const name = path.basename(dev);
  const rot = readOr(`/sys/block/${name}/queue/rotational`).trim();
  const sectors = Number(readOr(`/sys/block/${name}/size`).trim());
  if (sectors) extra += `, ${Math.round((sectors * 512) / 2 ** 30)} GiB`;
  if (rot) extra += rot === '0' ? ', non-rotational' : ', rotational';
  const model = readOr(`/sys/block/${name}/device/model`).trim();
  if (model) extra += `, ${model}`;
  if (name.startsWith('vd')) extra += ', virtio block device';
  return `${dev} (${best[2]}, ${best[3].split(',').slice(0, 2).join(',')}${extra}) mounted at ${best[1]}`;
}

function osName(): string {
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readOr('/etc/os-release'));
  return pretty ? pretty[1] : `${os.type()} ${os.release()}`;
}

/** describeMachine collects MachineInfo; etcdVersion comes from the binary the run uses. */
export function describeMachine(etcdVersion: string): MachineInfo {
  const cpus = os.cpus();
  let model = cpus[0]?.model ?? 'unknown';
  if (!model || model === 'unknown') {
    try {
      model = execFileSync('uname', ['-p'], { encoding: 'utf8' }).trim();
    } catch {
      // keep unknown
    }
  }
  return {
    cpuModel: `${model}${cpus[0]?.speed ? ` @ ${cpus[0].speed} MHz` : ''}`,
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    os: osName(),
    disk: diskOf(os.tmpdir()),
    node: process.version,
    etcd: etcdVersion,
    loadAverage: loadAverage(),
  };
}
