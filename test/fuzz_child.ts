/**
 * One fuzzing process (started by fuzz_engine.ts, one per target): replays the corpus, then
 * mutates corpus entries (fuzz_mutate.ts) and runs them through the target, keeping every input
 * that reaches code or an outcome not seen before. Coverage is V8's own block coverage, taken
 * through the inspector for a batch of inputs at a time; a batch with new blocks is re-run one
 * input at a time to find which inputs reached them (new coverage is rare after warm-up, so this
 * costs little). Before each input, the input is written to a file, so that if this process hangs
 * or dies the engine knows what killed it. Reports progress, findings and a summary over IPC.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mutate, samplePrograms, type MutationProgram } from './fuzz_mutate.js';
import type { FuzzTarget } from './fuzz_targets.js';

export interface ChildConfig {
  readonly target: string;
  readonly runs: number;
  readonly seed: number;
  /** Folders whose files are replayed first and mutated (the committed corpus, regressions). */
  readonly corpusDirs: readonly string[];
  /** Where to save new corpus entries (none when absent), at most `saveLimit` of at most 64 KiB. */
  readonly saveDir?: string;
  readonly saveLimit: number;
  readonly findingsDir: string;
  readonly currentFile: string;
  readonly timeoutMs: number;
  readonly rssLimitMb: number;
  readonly coverage: boolean;
  readonly batch: number;
  readonly reportCoverage: boolean;
}

export type ChildMessage =
  | { type: 'ready'; corpus: number }
  | { type: 'progress'; executed: number }
  | { type: 'finding'; kind: 'crash' | 'failure' | 'slow' | 'memory'; message: string; file: string }
  | { type: 'done'; summary: ChildSummary };

export interface ChildSummary {
  readonly executed: number;
  readonly replayed: number;
  readonly reruns: number;
  readonly corpus: number;
  readonly saved: number;
  readonly features: number;
  readonly outcomes: Record<string, number>;
  readonly coverage?: LineCoverage;
}

export interface LineCoverage {
  readonly files: Record<string, { lines: number; covered: number }>;
  readonly lines: number;
  readonly covered: number;
}

const send = (m: ChildMessage) => process.send!(m);
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/** mulberry32: the choice of corpus entries, from the run's seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ScriptCoverage {
  readonly url: string;
  readonly functions: readonly { readonly ranges: readonly { startOffset: number; endOffset: number; count: number }[] }[];
}

class Coverage {
  private readonly session = new Session();
  private readonly ids = new Map<string, number>();
  /** Which scripts count: the project's compiled code, and whatever library the target fuzzes. */
  /** Where each take's lines are tallied, once the target (which names its files) is loaded. */
  tally: LineTally | null = null;
  constructor(private readonly scope: RegExp) {
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }
  private post(method: string, params?: object): unknown {
    let out: unknown;
    let err: Error | null = null;
    // The in-process inspector answers synchronously.
    this.session.post(method, params ?? {}, (e, r) => {
      err = e;
      out = r;
    });
    if (err) throw err;
    return out;
  }
  /** Coverage since the last take (counters reset), of the scripts in scope. */
  take(): ScriptCoverage[] {
    const r = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const scripts = r.result.filter((s) => this.scope.test(s.url));
    this.tally?.add(scripts);
    return scripts;
  }
  /** Keys of the blocks executed since the last take. */
  blocks(): Set<string> {
    const out = new Set<string>();
    for (const s of this.take()) {
      let id = this.ids.get(s.url);
      if (id === undefined) this.ids.set(s.url, (id = this.ids.size));
      for (const f of s.functions) for (const r of f.ranges) if (r.count > 0) out.add(`${id}:${r.startOffset}:${r.endOffset}`);
    }
    return out;
  }
}

/**
 * The lines of the target's files (paths from the repository root: dist/src/… or node_modules/…)
 * reached at any point of the run. Each coverage take is painted onto the file — a line counts if
 * the innermost range holding its first character ran since the previous take — and OR-ed in, so
 * the figure is what the run executed, not what a final replay would.
 */
class LineTally {
  private readonly files: { file: string; path: string; src: string; lines: number[]; hit: Set<number> }[];
  constructor(files: readonly string[]) {
    this.files = files.flatMap((file) => {
      const path = fileURLToPath(new URL('../../' + file, import.meta.url));
      if (!existsSync(path)) return [];
      const src = readFileSync(path, 'utf8');
      // Each countable line's first character: not blank, not a comment, not an import.
      const lines: number[] = [];
      let at = 0;
      for (const line of src.split('\n')) {
        const t = line.trimStart();
        if (t && !/^(\/\/|\/\*|\*|import |export \{)/.test(t)) lines.push(at + line.length - t.length);
        at += line.length + 1;
      }
      return [{ file, path, src, lines, hit: new Set<number>() }];
    });
  }
  add(scripts: readonly ScriptCoverage[]): void {
    for (const f of this.files) {
      const script = scripts.find((s) => s.url.startsWith('file://') && fileURLToPath(s.url) === f.path);
      if (!script) continue;
      const count = new Float64Array(f.src.length);
      const ranges = script.functions.flatMap((fn) => fn.ranges).sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
      for (const r of ranges) count.fill(r.count, r.startOffset, Math.min(r.endOffset, f.src.length));
      for (const at of f.lines) if (count[at]! > 0) f.hit.add(at);
    }
  }
  result(): LineCoverage {
    const files = Object.fromEntries(this.files.map((f) => [f.file, { lines: f.lines.length, covered: f.hit.size }]));
    return { files, lines: this.files.reduce((n, f) => n + f.lines.length, 0), covered: this.files.reduce((n, f) => n + f.hit.size, 0) };
  }
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.env['FUZZ_CHILD_CONFIG']!) as ChildConfig;
  // Coverage starts before the code under test is loaded, so every function is instrumented.
  const { TARGETS, removeScratch, COVERAGE_SCOPE } = await import('./fuzz_targets.js');
  const cov = cfg.coverage || cfg.reportCoverage ? new Coverage(COVERAGE_SCOPE[cfg.target] ?? /\/dist\/src\//) : null;
  const target: FuzzTarget = await TARGETS[cfg.target]!();
  const tally = cov && cfg.reportCoverage ? new LineTally(target.coverageFiles) : null;
  if (cov) cov.tally = tally;
  mkdirSync(cfg.findingsDir, { recursive: true });
  if (cfg.saveDir) mkdirSync(cfg.saveDir, { recursive: true });

  const corpus: Uint8Array[] = [];
  const known = new Set<string>();
  const add = (b: Uint8Array) => {
    const h = sha1(b);
    if (known.has(h)) return false;
    known.add(h);
    corpus.push(b);
    return true;
  };
  for (const s of target.seeds()) add(s);
  for (const dir of cfg.corpusDirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      try {
        add(new Uint8Array(readFileSync(p)));
      } catch {
        // a sub-folder (regressions/) is replayed when named itself
      }
    }
  }
  send({ type: 'ready', corpus: corpus.length });

  const outcomes: Record<string, number> = {};
  const seen = new Set<string>();
  let executed = 0;
  let reruns = 0;
  let saved = 0;
  let lastReport = performance.now();
  const finding = (kind: 'crash' | 'failure' | 'slow' | 'memory', message: string, input: Uint8Array) => {
    const file = join(cfg.findingsDir, `${kind}-${sha1(input)}`);
    writeFileSync(file, input);
    send({ type: 'finding', kind, message, file });
  };
  const exec = async (input: Uint8Array): Promise<string> => {
    writeFileSync(cfg.currentFile, input);
    const t0 = performance.now();
    let outcome: string;
    try {
      outcome = await target.run(input);
    } catch (e) {
      const failure = e instanceof Error && e.name === 'FuzzFailure';
      finding(failure ? 'failure' : 'crash', e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e), input);
      outcome = failure ? 'FAILURE' : 'CRASH';
    }
    const ms = performance.now() - t0;
    if (ms > cfg.timeoutMs) finding('slow', `took ${ms.toFixed(0)} ms (limit ${cfg.timeoutMs})`, input);
    const rss = process.memoryUsage.rss() / 2 ** 20;
    if (rss > cfg.rssLimitMb) {
      finding('memory', `RSS ${rss.toFixed(0)} MiB after this input (limit ${cfg.rssLimitMb})`, input);
      process.exit(3); // the engine restarts a fresh process
    }
    const now = performance.now();
    if (now - lastReport > 200) {
      send({ type: 'progress', executed });
      lastReport = now;
    }
    return outcome;
  };
  const keep = (input: Uint8Array) => {
    if (!add(input)) return;
    if (cfg.saveDir && saved < cfg.saveLimit && input.length <= 1 << 16) {
      writeFileSync(join(cfg.saveDir, sha1(input)), input);
      saved++;
    }
  };

  // Replay: every corpus entry once (its blocks and outcome become known).
  const initial = corpus.slice();
  cov?.take();
  for (const input of initial) {
    const o = await exec(input);
    outcomes[o] = (outcomes[o] ?? 0) + 1;
    seen.add('o:' + o);
  }
  if (cov) for (const b of cov.blocks()) seen.add(b);

  const pick = prng(cfg.seed);
  let programs: MutationProgram[] = [];
  let valuePrograms: MutationProgram[] = [];
  let pending: Uint8Array[] = [];
  let batch = 2;
  for (let i = 0; i < cfg.runs; i++) {
    if (i % 256 === 0) {
      programs = samplePrograms(cfg.seed * 1000003 + i, 256);
      valuePrograms = target.valueShare ? samplePrograms(cfg.seed * 1000003 + i + 1, 256, true) : [];
    }
    // Newer entries (recent discoveries) are picked a little more often than old ones.
    const r = pick();
    const parent = corpus[Math.floor(corpus.length * (1 - r * r))] ?? corpus[0]!;
    const program = target.valueShare && pick() < target.valueShare ? valuePrograms[i % 256]! : programs[i % 256]!;
    const region = target.region?.(parent);
    let input = mutate(parent, program, { corpus, fields: target.fields?.(parent) ?? [], dictionary: target.dictionary ?? [], maxLen: target.maxLen, ...(region ? { region } : {}) });
    if (program.fixup && target.fixup) input = target.fixup(input);
    const o = await exec(input);
    executed++;
    outcomes[o] = (outcomes[o] ?? 0) + 1;
    if (!seen.has('o:' + o)) {
      seen.add('o:' + o);
      keep(input);
    }
    if (!cov) continue;
    pending.push(input);
    if (pending.length < batch && i < cfg.runs - 1) continue;
    const fresh = [...cov.blocks()].filter((b) => !seen.has(b));
    // Batches shrink while new code is being found (cheap to attribute) and grow once it is rare (cheap to take).
    batch = fresh.length ? Math.max(2, batch >> 2) : Math.min(cfg.batch, batch * 2);
    if (fresh.length) {
      // Which inputs of the batch reached the new blocks: each alone.
      for (const p of pending) {
        await exec(p);
        reruns++;
        const mine = [...cov.blocks()].filter((b) => !seen.has(b));
        if (mine.length) {
          for (const b of mine) seen.add(b);
          keep(p);
        }
      }
      for (const b of fresh) seen.add(b);
    }
    pending = [];
  }

  let coverage: LineCoverage | undefined;
  if (cov && tally) {
    cov.take();
    coverage = tally.result();
  }
  removeScratch();
  await target.close?.();
  send({ type: 'done', summary: { executed, replayed: initial.length, reruns, corpus: corpus.length, saved, features: seen.size, outcomes, ...(coverage ? { coverage } : {}) } });
  process.disconnect();
}

main().catch((e: unknown) => {
  process.stderr.write(`fuzz child failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
