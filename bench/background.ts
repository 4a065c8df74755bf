/**
 * A detached runner for long benchmark matrices: `start` re-runs a script with `run ...` in its own
 * process group (so `stop` reaches its trainings too), logging to DIR/runner.out; DIR/runner.pid
 * says whether it is alive. Used by bench/compare and bench/experiments.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export class BackgroundRunner {
  readonly pidFile: string;
  readonly logFile: string;

  constructor(readonly dir: string) {
    this.pidFile = path.join(dir, 'runner.pid');
    this.logFile = path.join(dir, 'runner.out');
  }

  /** The runner's pid while it runs, else null. */
  alive(): number | null {
    try {
      const pid = Number(fs.readFileSync(this.pidFile, 'utf8'));
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  }

  describe(): string {
    const pid = this.alive();
    return `runner ${pid ? `running (pid ${pid}, log ${this.logFile})` : 'not running'}`;
  }

  /** `node [execArgv] script run ...args` in the background, unless one is running already. */
  start(script: string, args: readonly string[]): void {
    const pid = this.alive();
    if (pid) {
      console.log(`already running (pid ${pid}); see ${this.logFile}`);
      return;
    }
    fs.mkdirSync(this.dir, { recursive: true });
    const out = fs.openSync(this.logFile, 'a');
    const child = spawn(process.execPath, [...process.execArgv, script, 'run', ...args], { detached: true, stdio: ['ignore', out, out] });
    fs.writeFileSync(this.pidFile, String(child.pid));
    child.unref();
    console.log(`started (pid ${child.pid}); tail -f ${this.logFile}`);
  }

  /** SIGINT to the runner's process group: each training writes its checkpoint after its current step. */
  stop(): void {
    const pid = this.alive();
    if (!pid) {
      console.log('not running');
      return;
    }
    process.kill(-pid, 'SIGINT');
    console.log('sent SIGINT; each training writes its checkpoint after its current step and stops');
  }
}
