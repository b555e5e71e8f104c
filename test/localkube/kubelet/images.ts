// The image map: how a container image becomes a local command, mirroring
// Docker. An entry gives the image's ENTRYPOINT (and optional CMD, working
// directory and environment); a container's `command` replaces ENTRYPOINT and its
// `args` replace CMD (a `command` without `args` drops CMD). Images match by full
// reference, then without tag/digest, then by the last path segment, so
// `replicant:v1` and `registry.example/replicant:v2` map to the same entry.
// It must never run anything.
import fs from 'node:fs';

export interface ImageEntry {
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  env?: Record<string, string>;
}

/** BUILTIN_IMAGES are mapped without configuration (commands found on PATH). */
export const BUILTIN_IMAGES: Record<string, ImageEntry> = {
  node: { entrypoint: ['node'] },
  busybox: { cmd: ['sh'] },
  alpine: { cmd: ['/bin/sh'] },
  debian: { cmd: ['bash'] },
  ubuntu: { cmd: ['bash'] },
};

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** parseImageEntry accepts an ARGV list (the ENTRYPOINT) or an object {entrypoint, cmd, workingDir, env}. */
export function parseImageEntry(name: string, value: unknown): ImageEntry {
  if (isStringList(value)) {
    if (value.length === 0) throw new Error(`image map entry "${name}": the command list is empty`);
    return { entrypoint: value };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`image map entry "${name}" must be an ARGV list or an object with entrypoint/cmd/workingDir/env`);
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!['entrypoint', 'cmd', 'workingDir', 'env'].includes(key)) throw new Error(`image map entry "${name}": unknown key "${key}" (allowed: entrypoint, cmd, workingDir, env)`);
  }
  if (v.entrypoint !== undefined && !isStringList(v.entrypoint)) throw new Error(`image map entry "${name}": entrypoint must be a list of strings`);
  if (v.cmd !== undefined && !isStringList(v.cmd)) throw new Error(`image map entry "${name}": cmd must be a list of strings`);
  if (v.workingDir !== undefined && typeof v.workingDir !== 'string') throw new Error(`image map entry "${name}": workingDir must be a string`);
  if (v.env !== undefined && (v.env === null || typeof v.env !== 'object' || Object.values(v.env).some((x) => typeof x !== 'string'))) {
    throw new Error(`image map entry "${name}": env must be an object of strings`);
  }
  if (v.entrypoint === undefined && v.cmd === undefined) throw new Error(`image map entry "${name}" needs entrypoint or cmd`);
  return v as ImageEntry;
}

/** parseImageFlag parses one `--image NAME=ARGV-JSON` flag. */
export function parseImageFlag(flag: string): [string, ImageEntry] {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new Error(`--image must look like NAME=["cmd","arg"], got "${flag}"`);
  const name = flag.slice(0, eq);
  let value: unknown;
  try {
    value = JSON.parse(flag.slice(eq + 1));
  } catch (err) {
    throw new Error(`--image ${name}: the value must be JSON (an ARGV list or an object): ${(err as Error).message}`);
  }
  return [name, parseImageEntry(name, value)];
}

/** loadImageMapFile reads a JSON object of image → entry. */
export function loadImageMapFile(file: string): Record<string, ImageEntry> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`--image-map ${file}: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`--image-map ${file}: must be a JSON object of image → entry`);
  const out: Record<string, ImageEntry> = {};
  for (const [name, value] of Object.entries(parsed)) out[name] = parseImageEntry(name, value);
  return out;
}

/** candidates lists the keys an image reference may be mapped under, most specific first. */
export function imageCandidates(image: string): string[] {
  const noDigest = image.split('@')[0];
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const noTag = colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
  const base = noTag.slice(noTag.lastIndexOf('/') + 1);
  return [...new Set([image, noDigest, noTag, base])];
}

export class ImageMap {
  readonly #entries: Record<string, ImageEntry>;

  constructor(entries: Record<string, ImageEntry>) {
    this.#entries = { ...BUILTIN_IMAGES, ...entries };
  }

  /** resolve finds the entry of an image, or undefined when it is not mapped. */
  resolve(image: string): ImageEntry | undefined {
    for (const key of imageCandidates(image)) if (this.#entries[key]) return this.#entries[key];
    return undefined;
  }

  /** argv combines an entry with a container's command/args the way Docker does. */
  static argv(entry: ImageEntry, command: string[] | undefined, args: string[] | undefined): string[] {
    const entrypoint = command ?? entry.entrypoint ?? [];
    const cmd = args ?? (command ? [] : (entry.cmd ?? []));
    return [...entrypoint, ...cmd];
  }

  names(): string[] {
    return Object.keys(this.#entries);
  }
}
