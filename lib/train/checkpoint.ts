/**
 * Checkpoints: a folder holding the model (model.json + weights.bin), the Adam state
 * (optimizer.bin) and state.json (epoch, step, RNG state, config, best score). A checkpoint is
 * written whole into `<name>.tmp`, then swapped in with renames, so a kill at any moment leaves
 * either the previous checkpoint or the new one, never a mix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { IoError, ParseError } from '../errors';
import { loadModel, saveModel, syncDir, writeFileAtomic } from '../tfjs/io';
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
}

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
  writeFileAtomic(path.join(dir, 'optimizer.bin'), new Uint8Array(buf.buffer));
  return meta;
}

async function readOptimizer(opt: tf.AdamOptimizer, dir: string, meta: OptimizerFile): Promise<void> {
  const file = path.join(dir, 'optimizer.bin');
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new IoError(`${file}: cannot read optimizer state (${(err as Error).message})`, err);
  }
  const need = meta.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.byteLength !== need * 4) throw new ParseError(file, undefined, `expected ${need * 4} bytes, got ${bytes.byteLength}`);
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

/** Writes a checkpoint folder atomically (write all into `<dir>.tmp`, then swap). */
export async function saveCheckpoint(dir: string, model: tf.LayersModel, opt: tf.AdamOptimizer, state: TrainState): Promise<void> {
  const tmp = `${dir}.tmp`;
  const old = `${dir}.old`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  await saveModel(model, tmp);
  const optimizer = await writeOptimizer(opt, tmp);
  writeFileAtomic(path.join(tmp, 'state.json'), JSON.stringify({ ...state, optimizer }, null, 1));
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

/** The folder to read a checkpoint from: `dir`, or `<dir>.old` when a kill hit between the two renames. */
export function checkpointPath(dir: string): string | null {
  if (fs.existsSync(path.join(dir, 'state.json'))) return dir;
  if (fs.existsSync(path.join(`${dir}.old`, 'state.json'))) return `${dir}.old`;
  return null;
}

export interface LoadedCheckpoint {
  model: tf.LayersModel;
  state: TrainState;
}

/** Loads a checkpoint; restores the optimizer state into `opt` (a fresh Adam with the same betas). */
export async function loadCheckpoint(dir: string, opt: tf.AdamOptimizer): Promise<LoadedCheckpoint> {
  const at = checkpointPath(dir);
  if (at === null) throw new IoError(`${dir}: no checkpoint here (state.json missing)`);
  const file = path.join(at, 'state.json');
  let raw: TrainState & { optimizer: OptimizerFile };
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ParseError(file, undefined, `cannot read checkpoint state (${(err as Error).message})`);
  }
  if (raw.version !== CHECKPOINT_VERSION) throw new ParseError(file, undefined, `checkpoint version ${raw.version}, this build reads ${CHECKPOINT_VERSION}`);
  const model = await loadModel(at);
  await readOptimizer(opt, at, raw.optimizer);
  const { optimizer: _ignored, ...state } = raw;
  return { model, state };
}
