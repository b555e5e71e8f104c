// Test tooling: builds, without a Docker engine, the file tree our Dockerfile
// would put in the image. Each stage gets a directory standing for its root
// file system; WORKDIR, COPY (from the build context filtered by
// .dockerignore, or --from another stage) and RUN are replayed in order; RUN
// runs on this machine with npm told to prefer its local cache. The base
// image's own files (Node itself) are not reproduced: the host's Node 24
// stands in for them. Must never write outside the output directory, which
// is why RUN commands may not name absolute paths.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isExcluded, mayReincludeBelow, parseDockerignore, type IgnoreRule } from './dockerignore.ts';
import { parseDockerfile, type ParsedDockerfile, type Stage } from './dockerfile.ts';

export interface ImageTree {
  dockerfile: ParsedDockerfile;
  final: Stage;
  /** host directory standing for the final stage's root file system */
  root: string;
  /** absolute path inside the image of the final WORKDIR */
  workdir: string;
  /** host directory of the final WORKDIR */
  hostWorkdir: string;
  /** the context paths that passed .dockerignore (relative, sorted) */
  contextFiles: string[];
}

/** contextFiles lists the regular files of the build context that .dockerignore lets through. */
export function listContext(contextDir: string, rules: IgnoreRule[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(contextDir, rel);
    for (const ent of fs.readdirSync(abs, { withFileTypes: true })) {
      const child = rel === '' ? ent.name : `${rel}/${ent.name}`;
      const excluded = isExcluded(rules, child);
      if (ent.isDirectory()) {
        if (!excluded || mayReincludeBelow(rules, child)) walk(child);
      } else if (!excluded && (ent.isFile() || ent.isSymbolicLink())) {
        out.push(child);
      }
    }
  };
  walk('');
  return out.sort();
}

function inImage(stageRoot: string, imagePath: string): string {
  const resolved = path.posix.resolve('/', imagePath);
  return path.join(stageRoot, resolved);
}

function copyInto(src: string, dest: string): void {
  const st = fs.lstatSync(src);
  if (st.isDirectory()) {
    // Docker copies a directory's contents, not the directory itself.
    fs.mkdirSync(dest, { recursive: true });
    fs.cpSync(src, dest, { recursive: true, verbatimSymlinks: true });
  } else {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.cpSync(src, dest, { verbatimSymlinks: true });
  }
}

/**
 * buildImageTree replays the Dockerfile in `contextDir` into `outDir`.
 * `runEnv` is added to the environment of RUN commands.
 */
export function buildImageTree(contextDir: string, outDir: string, runEnv: Record<string, string> = {}): ImageTree {
  const dockerfile = parseDockerfile(fs.readFileSync(path.join(contextDir, 'Dockerfile'), 'utf8'));
  const ignorePath = path.join(contextDir, '.dockerignore');
  const rules = fs.existsSync(ignorePath) ? parseDockerignore(fs.readFileSync(ignorePath, 'utf8')) : [];
  const contextFiles = listContext(contextDir, rules);
  const stageRoots: string[] = [];
  let workdir = '/';
  for (const stage of dockerfile.stages) {
    const root = path.join(outDir, `stage-${stage.index}${stage.name ? `-${stage.name}` : ''}`);
    fs.mkdirSync(root, { recursive: true });
    stageRoots.push(root);
    workdir = '/';
    for (const step of stage.steps) {
      const where = `Dockerfile line ${step.line}`;
      if (step.kind === 'WORKDIR') {
        workdir = path.posix.resolve(workdir, step.path);
        fs.mkdirSync(inImage(root, workdir), { recursive: true });
      } else if (step.kind === 'COPY') {
        const destIsDir = step.dest.endsWith('/') || step.dest === '.' || step.sources.length > 1;
        const dest = inImage(root, path.posix.resolve(workdir, step.dest));
        for (const source of step.sources) {
          if (/[*?[]/.test(source)) throw new Error(`${where}: COPY wildcards are not supported by test/packaging`);
          if (step.from !== undefined) {
            const fromIndex = dockerfile.stages.findIndex((s) => s.name === step.from || String(s.index) === step.from);
            if (fromIndex < 0 || fromIndex >= stage.index) throw new Error(`${where}: --from=${step.from} is not an earlier stage`);
            const src = inImage(stageRoots[fromIndex], source);
            if (!fs.existsSync(src)) throw new Error(`${where}: ${source} does not exist in stage ${step.from}`);
            copyInto(src, destIsDir && !fs.lstatSync(src).isDirectory() ? path.join(dest, path.basename(source)) : dest);
            continue;
          }
          const rel = path.posix.normalize(source).replace(/^\.\/?/, '').replace(/\/$/, '');
          if (rel.startsWith('..') || path.posix.isAbsolute(rel)) throw new Error(`${where}: ${source} is outside the build context`);
          const below = rel === '' ? contextFiles : contextFiles.filter((f) => f === rel || f.startsWith(`${rel}/`));
          if (below.length === 0) throw new Error(`${where}: ${source} is not in the build context (missing, or excluded by .dockerignore)`);
          for (const f of below) {
            if (f === rel) copyInto(path.join(contextDir, f), destIsDir ? path.join(dest, path.basename(f)) : dest);
            else copyInto(path.join(contextDir, f), path.join(dest, rel === '' ? f : f.slice(rel.length + 1)));
          }
        }
      } else {
        if (/(^|[\s=])\//.test(step.command)) {
          throw new Error(`${where}: RUN names an absolute path; test/packaging runs RUN on this machine, so keep it relative to WORKDIR`);
        }
        const cwd = inImage(root, workdir);
        const r = spawnSync('/bin/sh', ['-c', step.command], {
          cwd,
          // the host's Node 24 (this process's) stands in for the base image's node
          env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, ...stage.env, ...runEnv },
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        if (r.status !== 0) {
          throw new Error(`${where}: RUN ${step.command}\nexited ${r.status ?? r.signal}\n${(r.stderr || '').slice(-4000)}`);
        }
      }
    }
  }
  const final = dockerfile.stages[dockerfile.stages.length - 1];
  const root = stageRoots[stageRoots.length - 1];
  return { dockerfile, final, root, workdir, hostWorkdir: inImage(root, workdir), contextFiles };
}

/** treeBytes sums the sizes of the regular files under dir (symlinks not followed). */
export function treeBytes(dir: string): number {
  let total = 0;
  for (const ent of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (ent.isFile()) total += fs.statSync(path.join(ent.parentPath, ent.name)).size;
  }
  return total;
}
