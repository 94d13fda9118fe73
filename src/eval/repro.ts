/**
 * `bnn-edge repro`: reproduces the paper's tables on bnn-edge's shipped pipeline. It trains the
 * models it needs (cached as checkpoints, so an interrupted run resumes), evaluates every attack
 * on the packed runtime (results kept in a .json beside the document), and renders docs/REPRODUCTION.md with
 * the paper's figures beside ours, SVG plots, and the same models under stronger attacks.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DataSplit } from '../data/dataset.js';
import { renderReproduction } from './repro_doc/index.js';
import { alsoKind, keyName, ReproPlan, settingsClash, settingsDiffs, type ModelKey, type ReproConfig, type ReproResult, type ReproResults, type ReproSettings, type ReproTask } from './repro_plan.js';
import { checkModelIdentity, checkModelSha, checkRecordedCleanAccuracy, modelSha256 } from './repro_identity.js';
import { isStochastic } from '../model/graph.js';
import { head } from '../data/dataset.js';
import type { BnnModel } from '../format/model.js';
import { BnnRuntime } from '../runtime/index.js';
import { accuracyOf } from './parity.js';
import { paperModel } from '../model/presets.js';
import { writeAtomic } from '../util/fs.js';
import { formatSeconds } from '../util/progress.js';

export { advMark, alsoKind, evalKind, keyName, ReproPlan, type AdvKind, settingsClash, settingsDiffs, type ModelKey, type PlanConfig, type ReproConfig, type ReproResult, type ReproResults, type ReproSettings, type ReproTask } from './repro_plan.js';

interface ResultsFile {
  readonly settings: ReproSettings;
  readonly results: ReproResults;
}

/** The results file at `path`, or null if there is none; an error if it is not one. */
function readResults(path: string): ResultsFile | null {
  if (!existsSync(path)) return null;
  const file = JSON.parse(readFileSync(path, 'utf8')) as Partial<ResultsFile>;
  if (!file.settings || !file.results) throw new Error(`${path} is not a bnn-edge repro results file (no settings/results): give another --out`);
  return file as ResultsFile;
}

/** The results file that goes with an output document: REPRODUCTION.md → REPRODUCTION.json. */
export function resultsPathFor(out: string): string {
  return out.replace(/\.md$/i, '') + '.json';
}

export class Repro extends ReproPlan {
  readonly results: ReproResults;
  readonly resultsPath: string;
  /**
   * The results of the run `--compare` names, if any, and the settings it differs in beyond its
   * data (as "--flag value (this run: value)").
   */
  readonly compared: (ResultsFile & { readonly path: string; readonly differences: readonly string[] }) | undefined;

  constructor(
    override readonly config: ReproConfig,
    data: DataSplit,
  ) {
    super(config, data);
    this.resultsPath = resultsPathFor(config.out);
    this.results = {};
    const file = readResults(this.resultsPath);
    if (file) {
      const clash = settingsClash(file.settings, this.settings);
      if (clash) throw new Error(`${this.resultsPath} holds results measured with ${clash}: give another --out, or delete it to start over`);
      Object.assign(this.results, file.results);
    }
    if (config.compare !== undefined) {
      const path = /\.json$/i.test(config.compare) ? config.compare : resultsPathFor(config.compare);
      const other = readResults(path);
      if (!other) throw new Error(`--compare ${config.compare}: no results file at ${path}`);
      if (resolve(path) === resolve(this.resultsPath)) throw new Error(`--compare ${config.compare} is this run's own results file`);
      this.compared = { path, ...other, differences: settingsDiffs(other.settings, this.settings, ['--data', 'training images', 'test images']) };
    }
  }

  /** Whether the results file has every evaluation of the plan. */
  get complete(): boolean {
    return this.plan().every((t) => this.results[t.id]);
  }

  /**
   * The evaluations not yet cached, in the order `run` takes them, each with its place in the
   * plan. Those of models already trained go first, then those of models cheap to train, then the
   * adversarially trained ones (an hour each on 2 cores), one model's evaluations together, and
   * every model's seed 1 before any seed 2: a run stopped early has then filled as many table cells
   * as it could, each with one seed before any gets its spread.
   */
  pending(): { index: number; task: ReproTask }[] {
    const tasks = this.plan();
    const first = new Map<string, number>();
    tasks.forEach((t, i) => first.has(keyName(t.model)) || first.set(keyName(t.model), i));
    const trained = (m: ModelKey) => this.models.has(keyName(m)) || existsSync(join(this.modelDir(m), 'checkpoint.json'));
    const cost = (m: ModelKey) => (trained(m) ? 0 : m.adv ? 2 : 1);
    return tasks
      .map((task, index) => ({ index, task, cost: cost(task.model), group: first.get(keyName(task.model))! }))
      .filter((x) => !this.results[x.task.id])
      .sort((a, b) => a.cost - b.cost || (a.cost ? a.task.model.seed - b.task.model.seed || a.group - b.group : 0) || a.index - b.index)
      .map(({ index, task }) => ({ index, task }));
  }

  /**
   * Runs the tasks not yet cached (at most `limit` of them) in this process, re-rendering the
   * document after each so that a stopped run leaves a current one. Several machines, or several
   * processes of one: `bnn-edge repro --queue` and `bnn-edge worker` (src/queue/).
   */
  async run(limit = Infinity): Promise<void> {
    // What the results file gained since this run read it is not measured again.
    this.merge();
    const total = this.plan().length;
    const chosen = new Set(this.selected().map((t) => t.id));
    let ran = 0;
    let held: ModelKey | null = null;
    const shas = new Map<string, string>();
    for (const { index, task } of this.pending()) {
      if (ran >= limit) break;
      if (!chosen.has(task.id)) continue;
      // One model's evaluations run together: the one before is not needed again.
      if (held && keyName(held) !== keyName(task.model)) this.forget(held);
      held = task.model;
      ran++;
      this.config.log(`evaluation ${index + 1}/${total}: ${task.id}`);
      const model = await this.model(task.model);
      let sha = shas.get(keyName(task.model));
      if (sha === undefined) {
        // A model trained again must be the one the recorded results were measured on: checked once, before hours of attacks.
        await this.checkRecordedClean(task, model);
        sha = modelSha256(model);
        checkModelSha(this.results, task.id, sha);
        shas.set(keyName(task.model), sha);
      }
      const t0 = performance.now();
      this.record(task.id, { ...(await task.fn(model)), modelSha256: sha });
      this.config.log(`${task.id} done in ${formatSeconds((performance.now() - t0) / 1000)} (attack and replay, training excluded)`);
    }
    this.render();
  }

  /** The tasks this session may take (`--models`, `--evals`). */
  selected(): ReproTask[] {
    return this.select(this.config.only, this.config.evals);
  }

  /** Adds one evaluation's result, saves the results file and re-renders the document. */
  record(id: string, result: ReproResult): void {
    this.recordAll([[id, result]]);
  }

  /** Adds results (from queue workers, say), then saves and re-renders once. */
  recordAll(entries: readonly (readonly [string, ReproResult])[]): void {
    this.merge();
    const tasks = new Map(this.plan().map((t) => [t.id, t]));
    for (const [id, result] of entries) {
      const task = tasks.get(id);
      const stochastic = task ? isStochastic(paperModel(task.model.arch, task.model.k)) : true;
      checkModelIdentity(this.results, id, result, { stochastic, alsoKinds: this.alsoKinds() });
      this.results[id] = result;
    }
    mkdirSync(dirname(this.resultsPath), { recursive: true });
    const file: ResultsFile = { settings: this.settings, results: this.results };
    writeAtomic(this.resultsPath, JSON.stringify(file, null, 1) + '\n');
    renderReproduction(this);
  }

  /**
   * Adds to this run's results those saved in the results file since it was read: a run with other
   * settings writing the same file is refused rather than mixed in. Only adds: to measure an
   * evaluation again, delete it from the results file while no run is writing it.
   */
  private merge(): void {
    const file = readResults(this.resultsPath);
    if (!file) return;
    const clash = settingsClash(file.settings, this.settings);
    if (clash) throw new Error(`${this.resultsPath} now holds results measured with ${clash}: another run with other settings is writing it`);
    for (const [id, r] of Object.entries(file.results)) this.results[id] ??= r;
  }

  /** A model loaded or trained again must score the clean accuracy its recorded results (those without a SHA-256) measured. */
  private async checkRecordedClean(task: ReproTask, model: BnnModel): Promise<void> {
    if (isStochastic(model.graph)) return;
    this.merge();
    const rt = await BnnRuntime.fromModel(model);
    try {
      checkRecordedCleanAccuracy(this.results, task.id, (n) => {
        const d = head(this.data.test, n);
        return accuracyOf(rt.predict(d.images, d.n), d.labels);
      }, { alsoKinds: this.alsoKinds() });
    } finally {
      rt.dispose();
    }
  }

  /** The kinds of evaluation scored on other test images than the held-out ones (`--also-test`). */
  private alsoKinds(): string[] {
    return this.config.alsoTest !== undefined ? [alsoKind(this.config.alsoTest)] : [];
  }

  /** Re-renders the document from the results (with what the results file has gained meanwhile). */
  render(): void {
    this.merge();
    renderReproduction(this);
  }
}
