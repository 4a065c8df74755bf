/**
 * Where each experiment's files are and how far it got: own runs live in RUNS_DIR/<name>; runs
 * trained elsewhere can be registered (RUNS_DIR/registered.json: name -> folder) and are then only
 * read, never trained or written (their eval goes to RUNS_DIR/<name>/eval when they have none).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const RUNS_DIR = path.resolve(process.env.RUNS_DIR ?? 'runs/experiments');
const REGISTRY = () => path.join(RUNS_DIR, 'registered.json');

export function registered(): Record<string, string> {
  try {
    return JSON.parse(fs.readFileSync(REGISTRY(), 'utf8')) as Record<string, string>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`${REGISTRY()}: ${(err as Error).message}`);
  }
}

export function register(name: string, folder: string): void {
  const abs = path.resolve(folder);
  if (!fs.existsSync(path.join(abs, 'config.json'))) throw new Error(`${abs}: not a training run (no config.json)`);
  const r = registered();
  r[name] = abs;
  fs.mkdirSync(RUNS_DIR, { recursive: true });
  fs.writeFileSync(REGISTRY(), JSON.stringify(r, null, 2) + '\n');
}

export interface LogEpoch {
  epoch: number;
  valNme: number | null;
  timeS: number;
  valTimeS: number;
  imagesPerSec?: number;
  best?: boolean;
}

export interface RunState {
  name: string;
  /** The training run folder (own or registered). */
  runDir: string;
  external: boolean;
  /** config.json of the run, when it has started. */
  config: Record<string, unknown> | null;
  /** Last log entry per epoch, in order. */
  log: LogEpoch[];
  epochsDone: number;
  epochsPlanned: number | null;
  trained: boolean;
  /** Folder with summary.json + per_image.csv, when evaluated. */
  evalDir: string | null;
  /** The eval was made before training finished (the report says so). */
  evalPartial: boolean;
  hasCheckpoint: boolean;
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** log.jsonl entries, the last one per epoch (a resumed run may repeat an epoch it had not finished). */
export function readLog(runDir: string): LogEpoch[] {
  let text = '';
  try {
    text = fs.readFileSync(path.join(runDir, 'log.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const byEpoch = new Map<number, LogEpoch>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as LogEpoch;
      if (typeof e.epoch === 'number') byEpoch.set(e.epoch, e);
    } catch {
      // A line cut by a kill mid-write: the epoch is logged again when it is redone.
    }
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

export function state(name: string): RunState {
  const reg = registered();
  const external = name in reg;
  const runDir = external ? reg[name] : path.join(RUNS_DIR, name);
  const config = readJson(path.join(runDir, 'config.json'));
  const log = readLog(runDir);
  const epochsDone = log.length ? log[log.length - 1].epoch : 0;
  const epochsPlanned = typeof config?.epochs === 'number' ? config.epochs : null;
  const trained = epochsPlanned !== null && epochsDone >= epochsPlanned;
  const candidates = [path.join(RUNS_DIR, name, 'eval'), ...(external ? [path.join(runDir, 'eval')] : [])];
  let evalDir = candidates.find((d) => fs.existsSync(path.join(d, 'summary.json')) && fs.existsSync(path.join(d, 'per_image.csv'))) ?? null;
  let evalPartial = false;
  if (!evalDir) {
    const partial = path.join(RUNS_DIR, name, 'eval-partial');
    if (fs.existsSync(path.join(partial, 'summary.json'))) [evalDir, evalPartial] = [partial, true];
  }
  return {
    name,
    runDir,
    external,
    config,
    log,
    epochsDone,
    epochsPlanned,
    trained,
    evalDir,
    evalPartial,
    hasCheckpoint: fs.existsSync(path.join(runDir, 'checkpoints', 'latest')),
  };
}

/** Validation NME (percent) of an evaluated, fully trained run, else null. */
export function finalNme(name: string): number | null {
  const s = state(name);
  if (!s.evalDir || s.evalPartial) return null;
  const summary = readJson(path.join(s.evalDir, 'summary.json'));
  return typeof summary?.nme === 'number' ? summary.nme : null;
}
