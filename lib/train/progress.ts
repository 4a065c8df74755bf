/**
 * A small progress bar on stderr: epoch, bar, step count, running loss, images/s and ETA.
 * On a terminal it redraws one line, at most every `redrawMs`; otherwise (logs, CI, a pipe) it
 * prints a plain line at the first step, then at most one per 10 % of the epoch and per
 * `logIntervalMs`, so a log holds a few lines an epoch however fast the steps are.
 */
export interface ProgressStream {
  write(s: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export interface ProgressOptions {
  /** Not a terminal: the least time between two lines (default 30 s). */
  logIntervalMs?: number;
  /** A terminal: the least time between two redraws (default 100 ms; the last step always draws). */
  redrawMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

export class ProgressBar {
  private lastDecile = -1;
  private lastWrite = -Infinity;
  private readonly logIntervalMs: number;
  private readonly redrawMs: number;
  private readonly now: () => number;
  constructor(
    private readonly stream: ProgressStream,
    private readonly label: string,
    private readonly total: number,
    options: ProgressOptions = {},
  ) {
    this.logIntervalMs = options.logIntervalMs ?? 30_000;
    this.redrawMs = options.redrawMs ?? 100;
    this.now = options.now ?? Date.now;
  }

  /** `done` of `total` steps; `etaSeconds` for the whole run. */
  update(done: number, loss: number, imagesPerSec: number, etaSeconds: number): void {
    const now = this.now();
    const stats = () => `${done}/${this.total} loss ${loss.toPrecision(4)} ${imagesPerSec.toFixed(1)} img/s ETA ${formatDuration(etaSeconds)}`;
    if (this.stream.isTTY) {
      if (now - this.lastWrite < this.redrawMs && done < this.total) return;
      this.lastWrite = now;
      const text = stats();
      const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - this.label.length - text.length - 6));
      const fill = Math.round((width * done) / this.total);
      this.stream.write(`\r${this.label} [${'='.repeat(fill)}${fill < width ? '>' : ''}${' '.repeat(Math.max(0, width - fill - 1))}] ${text}\x1b[K`);
      return;
    }
    const decile = Math.floor((10 * done) / this.total);
    if (decile !== this.lastDecile && now - this.lastWrite >= this.logIntervalMs) {
      this.lastDecile = decile;
      this.lastWrite = now;
      this.stream.write(`${this.label} ${stats()}\n`);
    }
  }

  /** Ends the bar's line with a summary. */
  finish(summary: string): void {
    this.stream.write(this.stream.isTTY ? `\r${this.label} ${summary}\x1b[K\n` : `${this.label} ${summary}\n`);
  }
}
