/**
 * Checkpoints: a folder holding the model (model.json + weights.bin), the Adam state
 * (optimizer.bin), state.json (epoch, step, config, best score, the last epoch's log line) and
 * manifest.json (size and SHA-256 of the other four, written last).
 *
 * Crash safety. A checkpoint is written whole into `<name>.tmp`, then swapped in with two renames
 * (`<name>` -> `<name>.old`, `<name>.tmp` -> `<name>`). A kill at any moment leaves a complete copy
 * of the newest checkpoint in one of `<name>`, `<name>.old`, `<name>.tmp`; readers pick the newest
 * complete one (checkpointPath) and the writer, before anything else, moves it back to `<name>`
 * (recoverCheckpoint), so no later write can delete the only complete copy.
 *
 * Integrity. Every read checks the files against manifest.json and names the damaged file.
 * Checkpoints written before manifests existed load unverified.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CorruptFileError, IoError, ParseError } from '../errors';
import { MANIFEST_JSON, MODEL_JSON, WEIGHTS_BIN, loadModel, saveModel, syncDir, verifyManifest, writeFileAtomic, writeManifest } from '../tfjs/io';
import type { TrainConfig } from './config';

export const CHECKPOINT_VERSION = 1;

/** Everything besides the weights that a resumed run needs to continue exactly. */
export interface TrainState {
  version: number;
  /** Epoch in progress (0-based); when stepInEpoch is 0 it has not started. */
  epoch: number;
  /** Steps of `epoch` already done. */
  stepInEpoch: number;
  /**
   * Optimizer steps done in the whole run. With config.seed, (epoch, stepInEpoch) is the whole
   * RNG state: the loader's order and augmentation and the dropout masks derive from them.
   */
  globalStep: number;
  /** Sum of batch losses and images so far in the current epoch (for the epoch's mean loss). */
  epochLossSum: number;
  epochImages: number;
  bestNme: number | null;
  bestEpoch: number | null;
  config: TrainConfig;
  /**
   * The log.jsonl line of epoch `epoch` (the last one completed), so a crash between writing the
   * checkpoint and appending the line loses nothing: resume appends it (reconcileLog). Absent in
   * checkpoints written before this field existed and before the first epoch ends.
   */
  lastLog?: Record<string, unknown> | null;
}

const STATE_JSON = 'state.json';
const OPTIMIZER_BIN = 'optimizer.bin';
const FILES = [MODEL_JSON, WEIGHTS_BIN, OPTIMIZER_BIN, STATE_JSON];

interface OptimizerFile {
  iterations: number;
  /** Adam's running beta powers, saved because recomputing them with pow() rounds differently. */
  accBeta1: number;
  accBeta2: number;
  tensors: Array<{ name: string; shape: number[] }>;
}

interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  iterations_: number;
}

function adamInternals(opt: tf.AdamOptimizer): AdamInternals {
  const a = opt as unknown as AdamInternals;
  if (!(a.accBeta1 instanceof tf.Variable) || !(a.accBeta2 instanceof tf.Variable)) {
    throw new IoError('this tfjs AdamOptimizer has no accBeta1/accBeta2 variables; cannot checkpoint it exactly');
  }
  return a;
}

async function writeOptimizer(opt: tf.AdamOptimizer, dir: string): Promise<OptimizerFile> {
  const named = await opt.getWeights();
  const [iter, ...rest] = named;
  const a = adamInternals(opt);
  const meta: OptimizerFile = {
    // getWeights() makes a fresh 'iter' scalar each call: disposed below.
    iterations: (await iter.tensor.data())[0],
    accBeta1: (await a.accBeta1.data())[0],
    accBeta2: (await a.accBeta2.data())[0],
    tensors: rest.map((w) => ({ name: w.name, shape: w.tensor.shape })),
  };
  const total = rest.reduce((n, w) => n + w.tensor.size, 0);
  const buf = new Float32Array(total);
  let at = 0;
  for (const w of rest) {
    buf.set(await w.tensor.data<'float32'>(), at);
    at += w.tensor.size;
  }
  iter.tensor.dispose();
  writeFileAtomic(path.join(dir, OPTIMIZER_BIN), new Uint8Array(buf.buffer));
  return meta;
}

async function readOptimizer(opt: tf.AdamOptimizer, dir: string, meta: OptimizerFile): Promise<void> {
  const file = path.join(dir, OPTIMIZER_BIN);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new IoError(`${file}: cannot read optimizer state (${(err as Error).message})`, err);
  }
  const need = meta.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.byteLength !== need * 4) throw new CorruptFileError(file, `has ${bytes.byteLength} bytes, state.json's optimizer tensors need ${need * 4} (truncated or from another run)`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let at = 0;
  const weights: Awaited<ReturnType<tf.AdamOptimizer['getWeights']>> = [{ name: 'iter', tensor: tf.scalar(meta.iterations, 'int32') }];
  for (const t of meta.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    weights.push({ name: t.name, tensor: tf.tensor(all.subarray(at, at + n), t.shape, 'float32') });
    at += n;
  }
  await opt.setWeights(weights);
  const a = adamInternals(opt);
  tf.tidy(() => {
    a.accBeta1.assign(tf.scalar(meta.accBeta1));
    a.accBeta2.assign(tf.scalar(meta.accBeta2));
  });
  tf.dispose(weights.map((w) => w.tensor));
}

/** Writes a checkpoint folder atomically (write all into `<dir>.tmp`, then swap; see the top of this file). */
export async function saveCheckpoint(dir: string, model: tf.LayersModel, opt: tf.AdamOptimizer, state: TrainState): Promise<void> {
  const tmp = `${dir}.tmp`;
  const old = `${dir}.old`;
  try {
    // A previous crash may have left the newest complete copy in .old or .tmp: move it home before .tmp is reused.
    recoverCheckpoint(dir);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
  } catch (err) {
    if (err instanceof IoError) throw err;
    throw new IoError(`${dir}: cannot write checkpoint (${(err as Error).message})`, err);
  }
  await saveModel(model, tmp);
  const optimizer = await writeOptimizer(opt, tmp);
  // `checksummed` tells a reader that a manifest must come with this state.json (else the write was cut short).
  writeFileAtomic(path.join(tmp, STATE_JSON), JSON.stringify({ ...state, optimizer, checksummed: true }, null, 1));
  writeManifest(tmp, FILES);
  try {
    fs.rmSync(old, { recursive: true, force: true });
    if (fs.existsSync(dir)) fs.renameSync(dir, old);
    fs.renameSync(tmp, dir);
    syncDir(path.dirname(dir));
    fs.rmSync(old, { recursive: true, force: true });
  } catch (err) {
    throw new IoError(`${dir}: cannot write checkpoint (${(err as Error).message})`, err);
  }
}

/** The places a checkpoint named `dir` can be found after a crash, the usual one first. */
function candidates(dir: string): string[] {
  return [dir, `${dir}.old`, `${dir}.tmp`];
}

/**
 * globalStep of the checkpoint in `at` if it is complete (all files there, manifest matching
 * where one is required), else null. Never throws: used to choose among copies after a crash.
 */
function completeStep(at: string): number | null {
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(at, STATE_JSON), 'utf8'));
    if (raw === null || typeof raw !== 'object' || !Number.isInteger(raw.globalStep)) return null;
    if (raw.checksummed === true) {
      if (!fs.existsSync(path.join(at, MANIFEST_JSON))) return null;
      verifyManifest(at, FILES);
    } else if (![MODEL_JSON, WEIGHTS_BIN, OPTIMIZER_BIN].every((f) => fs.existsSync(path.join(at, f)))) {
      return null;
    }
    return raw.globalStep;
  } catch {
    return null;
  }
}

/** The newest complete copy among `dir`, `<dir>.old`, `<dir>.tmp` (ties: the usual place first). */
function newestComplete(dir: string): string | null {
  let best: string | null = null;
  let bestStep = -1;
  for (const at of candidates(dir)) {
    const step = completeStep(at);
    if (step !== null && step > bestStep) {
      best = at;
      bestStep = step;
    }
  }
  return best;
}

/**
 * The folder to read the checkpoint `dir` from: `dir` itself normally; after a crash during a
 * swap, the newest complete copy (`<dir>.old` or `<dir>.tmp`). Null when there is none. Reads only.
 */
export function checkpointPath(dir: string): string | null {
  const others = candidates(dir).slice(1).filter((d) => fs.existsSync(d));
  // The usual case (no leftovers) needs no hashing here: loadCheckpoint verifies what it reads.
  if (others.length === 0) return fs.existsSync(path.join(dir, STATE_JSON)) ? dir : null;
  return newestComplete(dir);
}

/**
 * Puts the newest complete copy back at `dir` and removes the other copies (for the writer, which
 * holds the run's lock). Each step is a rename or a removal of a non-newest copy, so a crash in
 * here leaves the newest copy findable too.
 */
export function recoverCheckpoint(dir: string): void {
  const others = [...candidates(dir).slice(1), `${dir}.stale`].filter((d) => fs.existsSync(d));
  if (others.length === 0) return;
  const best = newestComplete(dir);
  if (best === null) return; // nothing complete anywhere: leave everything for a person to look at
  try {
    if (best !== dir) {
      fs.rmSync(`${dir}.stale`, { recursive: true, force: true });
      if (fs.existsSync(dir)) fs.renameSync(dir, `${dir}.stale`);
      fs.renameSync(best, dir);
      syncDir(path.dirname(dir));
    }
    for (const d of [...candidates(dir).slice(1), `${dir}.stale`]) fs.rmSync(d, { recursive: true, force: true });
  } catch (err) {
    throw new IoError(`${dir}: cannot recover the checkpoint from ${best} (${(err as Error).message})`, err);
  }
}

export interface LoadedCheckpoint {
  model: tf.LayersModel;
  state: TrainState;
}

const isInt = (x: unknown, min = 0) => Number.isInteger(x) && (x as number) >= min;

/** Checks the fields a resume relies on, so a damaged state.json fails here naming itself. */
function checkState(raw: unknown, file: string): asserts raw is TrainState & { optimizer: OptimizerFile } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CorruptFileError(file, `expected a JSON object, got ${raw === null ? 'null' : typeof raw}`);
  const r = raw as Record<string, unknown>;
  for (const k of ['epoch', 'stepInEpoch', 'globalStep', 'epochImages']) {
    if (!isInt(r[k])) throw new CorruptFileError(file, `${k}: expected a non-negative integer, got ${JSON.stringify(r[k])}`);
  }
  if (typeof r.epochLossSum !== 'number' || !Number.isFinite(r.epochLossSum)) throw new CorruptFileError(file, `epochLossSum: expected a finite number, got ${JSON.stringify(r.epochLossSum)}`);
  if (r.config === null || typeof r.config !== 'object') throw new CorruptFileError(file, 'config: missing');
  const epochs = (r.config as Record<string, unknown>).epochs;
  if (!isInt(epochs, 1) || (r.epoch as number) > (epochs as number)) {
    throw new CorruptFileError(file, `epoch ${r.epoch} is past the run's ${JSON.stringify(epochs)} epochs`);
  }
  const o = r.optimizer as OptimizerFile | undefined;
  if (!o || typeof o !== 'object' || !Array.isArray(o.tensors) || !o.tensors.every((t) => t && Array.isArray(t.shape) && t.shape.every((d) => isInt(d)))) {
    throw new CorruptFileError(file, 'optimizer: expected { iterations, accBeta1, accBeta2, tensors: [{ name, shape }] }');
  }
  for (const k of ['iterations', 'accBeta1', 'accBeta2'] as const) {
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) throw new CorruptFileError(file, `optimizer.${k}: expected a finite number, got ${JSON.stringify(o[k])}`);
  }
}

/**
 * Loads a checkpoint (the newest complete copy, see checkpointPath), verifying its files against
 * its manifest; restores the optimizer state into `opt` (a fresh Adam with the same betas).
 */
export async function loadCheckpoint(dir: string, opt: tf.AdamOptimizer): Promise<LoadedCheckpoint> {
  const at = checkpointPath(dir);
  if (at === null) throw new IoError(`${dir}: no checkpoint here (state.json missing)`);
  const file = path.join(at, STATE_JSON);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ParseError(file, undefined, `cannot read checkpoint state (${(err as Error).message})`);
  }
  if ((raw as { checksummed?: unknown })?.checksummed === true) {
    if (!fs.existsSync(path.join(at, MANIFEST_JSON))) throw new CorruptFileError(path.join(at, MANIFEST_JSON), 'missing, but state.json says this checkpoint was written with one');
    verifyManifest(at, FILES);
  }
  checkState(raw, file);
  if (raw.version !== CHECKPOINT_VERSION) throw new ParseError(file, undefined, `checkpoint version ${raw.version}, this build reads ${CHECKPOINT_VERSION}`);
  const model = await loadModel(at);
  try {
    await readOptimizer(opt, at, raw.optimizer);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const { optimizer: _ignored, checksummed: _c, ...state } = raw as TrainState & { optimizer: OptimizerFile; checksummed?: boolean };
  return { model, state };
}
