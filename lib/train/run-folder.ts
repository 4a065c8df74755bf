/**
 * The run folder's guards: one writer at a time (a lock file holding the writer's pid), no silent
 * overwrite of a finished or started run, and a writability check before any training time is
 * spent. See the README's "Crash safety" section for what each guard protects.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArgumentError, IoError, LockedError } from '../errors';

/** Lock file in the run folder: JSON { pid, hostname, startedAt, token }. */
export const LOCK_FILE = 'train.lock';

/** What `--force` removes: everything a training run writes (other files in the folder stay). */
const RUN_OUTPUTS = ['checkpoints', 'log.jsonl', 'eval', 'config.json', 'split.json', 'asm.json', 'data.json'];

interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  token: string;
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to another user). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): LockInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    return info !== null && typeof info === 'object' && Number.isInteger(info.pid) ? info : null;
  } catch {
    return null; // vanished, or torn by a kill while it was written: treated as stale
  }
}

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

export interface RunLock {
  file: string;
  /** Removes the lock (only if it is still ours); safe to call twice. */
  release(): void;
}

/**
 * Takes the run folder's lock: creates `out/train.lock` exclusively. A lock whose pid is no longer
 * running on this host (a kill -9, a power cut) is stale and taken over. The lock is also removed
 * when the process exits through process.exit (e.g. a second Ctrl-C).
 */
export function acquireRunLock(out: string): RunLock {
  const file = path.join(out, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), token: `${process.pid}-${Date.now()}-${Math.random()}` };
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(mine), { flag: 'wx' });
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new IoError(`${out}: cannot create the lock file ${file} (${(err as Error).message}); is the run folder writable?`, err);
      const held = readLock(file);
      if (held && held.hostname !== mine.hostname) {
        throw new LockedError(`${out} is locked by pid ${held.pid} on host ${held.hostname} (${file}); wait for that training to finish, or delete ${file} if it is not running`, held.pid);
      }
      if (held && pidAlive(held.pid)) {
        throw new LockedError(`${out} is in use by another training (pid ${held.pid}, started ${held.startedAt}; lock ${file}); wait for it to finish or stop it, or use another --out`, held.pid);
      }
      if (attempt >= 2) throw new LockedError(`${out}: could not take the lock ${file} (another process keeps replacing it)`, held?.pid ?? 0);
      // An unreadable lock may be one being written this instant: stale only once it is a few seconds old.
      if (held === null && Date.now() - mtimeMs(file) < 5000) throw new LockedError(`${out} is being locked by another process (${file}); try again in a few seconds`, 0);
      // Stale: remove it only if it is still the same lock (another process may have taken it over meanwhile).
      if ((readLock(file)?.token ?? null) === (held?.token ?? null)) fs.rmSync(file, { force: true });
    }
  }
  const release = () => {
    process.off('exit', release);
    if (readLock(file)?.token === mine.token) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { file, release };
}

/** The run files a previous training left in `out`, if it got as far as a checkpoint or a log line. */
export function existingRun(out: string): string[] {
  const found: string[] = [];
  const ck = path.join(out, 'checkpoints');
  if (fs.existsSync(ck) && fs.statSync(ck).isDirectory() && fs.readdirSync(ck).length > 0) found.push('checkpoints/');
  const log = path.join(out, 'log.jsonl');
  if (fs.existsSync(log) && fs.statSync(log).size > 0) found.push('log.jsonl');
  return found;
}

/**
 * Creates the run folder and its checkpoints/ and proves both writable, so a wrong --out fails in
 * a second, not after the first epoch. Errors name the path and the system's reason.
 */
export function prepareRunFolder(out: string): void {
  for (const dir of [out, path.join(out, 'checkpoints')]) {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EEXIST' || e.code === 'ENOTDIR' ? 'a file is in the way of the folder' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.message;
      throw new IoError(`${dir}: cannot create the run folder (${why}); choose another --out or remove the file`, err);
    }
    if (!fs.statSync(dir).isDirectory()) throw new IoError(`${dir}: is a file, expected a folder; choose another --out or remove the file`);
    const probe = path.join(dir, `.write-test.${process.pid}`);
    try {
      fs.writeFileSync(probe, 'ok');
      fs.rmSync(probe);
    } catch (err) {
      throw new IoError(`${dir}: cannot write in the run folder (${(err as Error).message}); fix its permissions or choose another --out`, err);
    }
  }
}

/**
 * Refuses to write over a run that has checkpoints or a log unless the caller resumes it or asks
 * to start over; with `force`, removes the previous run's outputs first (the lock must be held).
 */
export function guardExistingRun(out: string, opts: { resume: boolean; force: boolean }): void {
  if (opts.force) {
    for (const f of RUN_OUTPUTS) {
      try {
        fs.rmSync(path.join(out, f), { recursive: true, force: true });
      } catch (err) {
        throw new IoError(`${path.join(out, f)}: cannot remove the previous run's file for --force (${(err as Error).message})`, err);
      }
    }
    return;
  }
  if (opts.resume) return;
  const found = existingRun(out);
  if (found.length > 0) {
    throw new ArgumentError(`--out: ${out} already holds a training run (${found.join(', ')}); add --resume to continue it, --force to start over in it (its checkpoints, log and eval are deleted), or choose another --out`);
  }
}
