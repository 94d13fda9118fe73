/**
 * The fuzzing engine: runs a target (fuzz_targets.ts) in a child process (fuzz_child.ts) with a
 * memory limit (V8 heap via --max-old-space-size, and a resident-memory ceiling the child checks
 * after every input) and a time limit per input (an input that runs longer is a finding; a child
 * that stops reporting for longer is killed, and the input it was on is the finding). A child that
 * dies — a native crash, V8 out of memory, a kill — is restarted for the remaining inputs; its
 * last input is kept as a finding. Children, not worker threads: a crash in native code (sharp,
 * zlib) must not take the engine down with it.
 *
 * jazzer.js was tried first (npm @jazzer.js/core 4.0.0): its prebuilt libFuzzer addon needs glibc
 * 2.38 (this machine has 2.36); its tarball carries no sources, and the older versions build from
 * source by downloading LLVM's compiler-rt from GitHub, which this machine cannot reach.
 */
import { fork } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildConfig, ChildMessage, ChildSummary } from './fuzz_child.js';

export interface FuzzOptions {
  readonly target: string;
  /** Mutated inputs to run (besides replaying the corpus). */
  readonly runs: number;
  readonly seed?: number;
  /** Per-input time limit. */
  readonly timeoutMs?: number;
  /** V8 heap limit of the child. */
  readonly heapMb?: number;
  /** Resident memory the child may reach after any input. */
  readonly rssMb?: number;
  /** Coverage-guided (V8 block coverage); without it only outcomes guide. */
  readonly coverage?: boolean;
  /** Report the lines of the target's files the corpus reaches at the end. */
  readonly reportCoverage?: boolean;
  readonly corpusDirs?: readonly string[];
  readonly saveDir?: string;
  readonly saveLimit?: number;
  readonly findingsDir?: string;
  /** Called with the number of inputs run so far. */
  readonly onProgress?: (executed: number) => void;
}

export interface Finding {
  readonly kind: 'crash' | 'failure' | 'slow' | 'memory' | 'hang' | 'died';
  readonly message: string;
  /** The input, saved. */
  readonly file: string;
}

/** A run's figures: the children's summed, with the findings, restarts and wall time. */
export interface FuzzReport extends ChildSummary {
  readonly target: string;
  readonly findings: readonly Finding[];
  readonly restarts: number;
  readonly seconds: number;
}

const CHILD = fileURLToPath(new URL('./fuzz_child.js', import.meta.url));
/** Time a child may take to load its target before it must report. */
const STARTUP_MS = 120_000;
const MAX_RESTARTS = 20;

/** One child process for up to `runs` inputs: its summary, or why it stopped early. */
function runChild(cfg: ChildConfig, heapMb: number, findings: Finding[], onProgress: (n: number) => void): Promise<{ summary?: ChildSummary; executed: number }> {
  return new Promise((resolve) => {
    const child = fork(CHILD, [], { execArgv: [`--max-old-space-size=${heapMb}`], env: { ...process.env, FUZZ_CHILD_CONFIG: JSON.stringify(cfg) }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let executed = 0;
    let ready = false;
    let last = Date.now();
    let summary: ChildSummary | undefined;
    let stderr = '';
    let killedForHang = false;
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('message', (m: ChildMessage) => {
      last = Date.now();
      if (m.type === 'ready') ready = true;
      else if (m.type === 'progress') onProgress((executed = m.executed));
      else if (m.type === 'finding') findings.push({ kind: m.kind, message: m.message, file: m.file });
      else if (m.type === 'done') summary = m.summary;
    });
    const watchdog = setInterval(() => {
      const limit = ready ? cfg.timeoutMs + 5000 : STARTUP_MS;
      if (Date.now() - last > limit) {
        killedForHang = true;
        child.kill('SIGKILL');
      }
    }, 250);
    child.on('exit', (code, signal) => {
      clearInterval(watchdog);
      if (summary) return resolve({ summary, executed: summary.executed });
      // It stopped early: the input it was on is the finding.
      const file = join(cfg.findingsDir, `${killedForHang ? 'hang' : 'died'}-${Date.now()}`);
      if (existsSync(cfg.currentFile)) copyFileSync(cfg.currentFile, file);
      const memory = /heap limit|out of memory|Allocation failed/i.test(stderr);
      if (code !== 3) findings.push({ kind: killedForHang ? 'hang' : memory ? 'memory' : 'died', message: killedForHang ? `no progress for ${cfg.timeoutMs + 5000} ms` : `exit ${code ?? ''} ${signal ?? ''}: ${stderr.trim().split('\n').slice(-6).join(' | ')}`, file });
      resolve({ executed });
    });
  });
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const t0 = performance.now();
  const findingsDir = o.findingsDir ?? join(tmpdir(), `bnn-fuzz-findings-${o.target}-${process.pid}`);
  mkdirSync(findingsDir, { recursive: true });
  const currentFile = join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `bnn-fuzz-current-${o.target}-${process.pid}`);
  const findings: Finding[] = [];
  let remaining = o.runs;
  let done = 0;
  let restarts = 0;
  let last: ChildSummary | undefined;
  const totals = { executed: 0, replayed: 0, reruns: 0, saved: 0, outcomes: {} as Record<string, number> };
  while (remaining > 0 || !last) {
    const cfg: ChildConfig = {
      target: o.target,
      runs: remaining,
      seed: (o.seed ?? 1) + 7919 * restarts,
      corpusDirs: o.corpusDirs ?? [],
      ...(o.saveDir ? { saveDir: o.saveDir } : {}),
      saveLimit: Math.max(0, (o.saveLimit ?? 400) - totals.saved),
      findingsDir,
      currentFile,
      timeoutMs: o.timeoutMs ?? 10_000,
      rssLimitMb: o.rssMb ?? 2048,
      coverage: o.coverage ?? true,
      batch: 64,
      reportCoverage: o.reportCoverage ?? false,
    };
    const r = await runChild(cfg, o.heapMb ?? 1024, findings, (n) => o.onProgress?.(done + n));
    done += r.executed;
    remaining -= r.executed;
    if (r.summary) {
      last = r.summary;
      totals.executed += r.summary.executed;
      totals.replayed += r.summary.replayed;
      totals.reruns += r.summary.reruns;
      totals.saved += r.summary.saved;
      for (const [k, v] of Object.entries(r.summary.outcomes)) totals.outcomes[k] = (totals.outcomes[k] ?? 0) + v;
      if (remaining <= 0) break;
    } else {
      totals.executed += r.executed;
      // Skip the input that killed the child, then go on.
      remaining -= 1;
      done += 1;
      if (++restarts > MAX_RESTARTS) break;
    }
  }
  rmSync(currentFile, { force: true });
  return {
    target: o.target,
    executed: totals.executed,
    replayed: totals.replayed,
    reruns: totals.reruns,
    corpus: last?.corpus ?? 0,
    saved: totals.saved,
    features: last?.features ?? 0,
    outcomes: totals.outcomes,
    findings,
    restarts,
    seconds: (performance.now() - t0) / 1000,
    ...(last?.coverage ? { coverage: last.coverage } : {}),
  };
}
