/**
 * A progress bar for long jobs (training, attacks, benchmarks). Draws on stderr when it is a
 * TTY, redrawing at most ~10 times a second; otherwise prints a plain line every few seconds so
 * CI logs show progress without flooding.
 */
export interface ProgressOptions {
  /** Text before the bar, e.g. "epoch 3/15". */
  label: string;
  total: number;
  /** Stream to draw on; defaults to process.stderr. Pass null to disable. */
  stream?: NodeJS.WriteStream | null;
  /** Milliseconds now; defaults to performance.now (tests pass their own). */
  clock?: () => number;
}

export class Progress {
  private readonly clock: () => number;
  private readonly start: number;
  /**
   * The first update: the rate (and so the ETA) is measured from it, because work can arrive
   * part-done (images a cascade skips, a resumed run's finished part) and that part took no time here.
   */
  private first?: { readonly at: number; readonly done: number };
  private lastDraw = 0;
  private done = 0;
  private info = '';
  private readonly stream: NodeJS.WriteStream | null;
  private readonly tty: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.clock = opts.clock ?? (() => performance.now());
    this.start = this.clock();
    this.stream = opts.stream === undefined ? process.stderr : opts.stream;
    this.tty = Boolean(this.stream?.isTTY);
  }

  /** Advance to `done` items, with a short status text such as "loss 0.31 acc 91.2%". */
  update(done: number, info = ''): void {
    const now = this.clock();
    this.first ??= { at: now, done };
    this.done = done;
    this.info = info;
    const interval = this.tty ? 100 : 5000;
    if (now - this.lastDraw >= interval || done >= this.opts.total) {
      this.lastDraw = now;
      this.draw(false);
    }
  }

  /** Final line (always printed), e.g. with the epoch's summary. */
  finish(info?: string): void {
    if (info !== undefined) this.info = info;
    this.draw(true);
  }

  elapsedSeconds(): number {
    return (this.clock() - this.start) / 1000;
  }

  private draw(final: boolean): void {
    if (!this.stream) return;
    const { total, label } = this.opts;
    const frac = total > 0 ? Math.min(1, this.done / total) : 1;
    const elapsed = this.elapsedSeconds();
    const since = this.first ? { seconds: (this.clock() - this.first.at) / 1000, items: this.done - this.first.done } : { seconds: 0, items: 0 };
    // Unknown until some work has been done here, after the first update.
    const eta = since.items > 0 && since.seconds > 0 ? formatSeconds((since.seconds * Math.max(0, total - this.done)) / since.items) : '?';
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const time = final ? `${formatSeconds(elapsed)}` : `${formatSeconds(elapsed)} eta ${frac >= 1 ? formatSeconds(0) : eta}`;
    // Some work reports fractions of an item (an attack's share of an image): shown as whole items.
    const line = `${label} ${bar} ${Math.floor(this.done)}/${total} ${time}${this.info ? '  ' + this.info : ''}`;
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    } else {
      this.stream.write(line + '\n');
    }
  }
}

export function formatSeconds(s: number): string {
  // Round once, before splitting, so 179.7 s reads 3m00s rather than 2m60s (and 59.97 s reads 1m00s).
  if (s < 59.95) return `${s.toFixed(1)}s`;
  const whole = Math.round(s);
  const m = Math.floor(whole / 60);
  const r = whole % 60;
  if (m < 60) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
