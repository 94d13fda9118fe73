/**
 * What a user installs: the two tarballs (`npm pack`), node_modules after installing each into a
 * fresh project (the runtime alone; bnn-edge with its dependencies), the runtime's gzipped bytes,
 * and the wall-clock time of `npm run demo` (the command the README's quick start runs).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { fmt, mdTable } from '../lib.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sh(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${r.stderr}`);
  return r.stdout;
}

/** Bytes of every file under `dir` (symlinks not followed). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += treeBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

function pack(dir: string, dest: string): { file: string; size: number; unpacked: number; files: number } {
  const [info] = JSON.parse(sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], dir)) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
  return { file: join(dest, info!.filename), size: info!.size, unpacked: info!.unpackedSize, files: info!.entryCount };
}

function installedBytes(work: string, name: string, tarballs: string[]): { bytes: number; packages: number } {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  sh('npm', ['install', '--no-audit', '--no-fund', ...tarballs], dir);
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  return { bytes: treeBytes(join(dir, 'node_modules')), packages: Object.keys(lock.packages).filter((k) => k.startsWith('node_modules/')).length };
}

export async function packageSuite(): Promise<{ markdown: string; data: unknown }> {
  const work = mkdtempSync(join(tmpdir(), 'bnn-bench-pack-'));
  try {
    const main = pack(ROOT, work);
    const runtime = pack(join(ROOT, 'packages', 'runtime'), work);
    const runtimeOnly = installedBytes(work, 'runtime-only', [runtime.file]);
    const full = installedBytes(work, 'full', [runtime.file, main.file]);
    const gz = (f: string) => gzipSync(readFileSync(join(ROOT, 'packages/runtime/dist', f)), { level: 9 }).length;
    const browserGz = gz('bnn-edge-runtime.browser.js') + gz('bnn-simd.wasm');
    // The demo's wall clock depends on what else the machine runs: its load is recorded beside it.
    const load = loadavg()[0]!;
    const t0 = performance.now();
    sh(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'demo'], ROOT);
    const demoSeconds = (performance.now() - t0) / 1000;
    const MB = (b: number) => `${fmt(b / 1e6, 2)} MB`;
    const markdown =
      mdTable(
        ['what', 'size'],
        [
          ['bnn-edge tarball (`npm pack`)', `${MB(main.size)} (${fmt(main.files)} files, ${MB(main.unpacked)} unpacked)`],
          ['bnn-edge-runtime tarball', `${fmt(runtime.size)} B (${runtime.files} files, ${fmt(runtime.unpacked)} B unpacked)`],
          ['installed: `npm install bnn-edge-runtime` (node_modules)', `${fmt(runtimeOnly.bytes)} B, ${runtimeOnly.packages} package`],
          ['installed: `npm install bnn-edge` (node_modules)', `${MB(full.bytes)}, ${full.packages} packages`],
          ['runtime in a browser, gzipped: browser bundle + bnn-simd.wasm', `${fmt(browserGz)} B`],
          ['`npm run demo` (default models), wall clock', `${demoSeconds.toFixed(1)} s (load average ${load.toFixed(2)} at its start)`],
        ],
      ) +
      '\n\nInstalled sizes count every file under node_modules of a fresh project after `npm install` of the packed tarballs (npm 11 runs no install scripts without approval, so the optional tfjs-node stays without its native binary). The full install is mostly TensorFlow.js (training and the attacks); a device needs only the runtime.';
    return {
      markdown,
      data: { tarball: { main, runtime }, installed: { runtimeOnly, full }, runtimeBrowserGzip: browserGz, demoSeconds, demoLoad: load },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
