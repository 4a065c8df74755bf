/**
 * A small progress bar on stderr: epoch, bar, step count, running loss, images/s and ETA.
 * On a terminal it redraws one line; otherwise (logs, CI) it prints a plain line every ~10%.
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

export class ProgressBar {
  private lastDecile = -1;
  constructor(
    private readonly stream: ProgressStream,
    private readonly label: string,
    private readonly total: number,
  ) {}

  /** `done` of `total` steps; `etaSeconds` for the whole run. */
  update(done: number, loss: number, imagesPerSec: number, etaSeconds: number): void {
    const stats = `${done}/${this.total} loss ${loss.toPrecision(4)} ${imagesPerSec.toFixed(1)} img/s ETA ${formatDuration(etaSeconds)}`;
    if (this.stream.isTTY) {
      const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - this.label.length - stats.length - 6));
      const fill = Math.round((width * done) / this.total);
      this.stream.write(`\r${this.label} [${'='.repeat(fill)}${fill < width ? '>' : ''}${' '.repeat(Math.max(0, width - fill - 1))}] ${stats}\x1b[K`);
      return;
    }
    const decile = Math.floor((10 * done) / this.total);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${this.label} ${stats}\n`);
    }
  }

  /** Ends the bar's line with a summary. */
  finish(summary: string): void {
    this.stream.write(this.stream.isTTY ? `\r${this.label} ${summary}\x1b[K\n` : `${this.label} ${summary}\n`);
  }
}
