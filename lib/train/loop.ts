/**
 * The training loop: Adam with a learning-rate schedule, any of the losses by name, ACR with
 * Phi precomputed per variance level of the schedule, validation NME each epoch, best and
 * latest checkpoints, exact resume (also mid-epoch after SIGINT), progress bar and a JSON-lines
 * log of every epoch.
 *
 * Determinism: every random choice is a pure function of (seed, epoch, face or step): the data
 * loader's order and augmentation of (seed, epoch, face), the dropout masks of (seed, epoch,
 * step). So prefetching never shifts a random stream, and (seed, epoch, step) in a checkpoint
 * replays the rest of the run bit for bit.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, CorruptFileError, IoError, ValueRangeError } from '../errors';
import { buildModel } from '../model';
import { loadModel, writeFileAtomic } from '../tfjs/io';
import { copyWeights } from '../model/transfer';
import { mixSeed } from '../data/rng';
import { checkpointPath, loadCheckpoint, recoverCheckpoint, saveCheckpoint, type TrainState, CHECKPOINT_VERSION } from './checkpoint';
import { DEFAULT_TRAIN_CONFIG, RESUME_INVARIANT, resolveTrainConfig, type TrainConfig } from './config';
import type { TrainData, TrainSet } from './data';
import { learningRate } from './lr';
import { ProgressBar, formatDuration, type ProgressStream } from './progress';
import type { TrainDeps } from './deps';
import { AlignedPhi, PhiLookup, ShuffledPhi, mirrorShapes, type PhiSource } from './phi';
import { alignShapes } from '../asm/procrustes';
import { defaultDeps } from './defaults';
import { acquireRunLock, guardExistingRun, prepareRunFolder } from './run-folder';

/**
 * A validation NME above this (in inter-ocular distances) means predictions several crop widths
 * off: divergence, not a hard epoch. Early epochs of healthy runs peak near 1 (100 %).
 */
const DIVERGED_NME = 10;

export interface EpochLog {
  /** 1-based epoch number. */
  epoch: number;
  globalStep: number;
  /** Mean training loss over the epoch's samples. */
  loss: number;
  valNme: number | null;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** ACR variance level used in this epoch (null for other losses). */
  level: number | null;
  /** Wall time of the epoch's training steps and of its validation, seconds. */
  timeS: number;
  valTimeS: number;
  imagesPerSec: number;
  /** Shares of the training-step wall time. `loss` is part of `compute` (measured on sampled steps). */
  share: { data: number; compute: number; loss: number };
  best: boolean;
}

export type TrainStatus = 'completed' | 'interrupted' | 'stopped';

export interface TrainResult {
  status: TrainStatus;
  /** Epochs completed so far (over all runs of a resumed training). */
  epochsDone: number;
  globalStep: number;
  bestNme: number | null;
  bestEpoch: number | null;
  /** Epochs run by this call. */
  history: EpochLog[];
  model: tf.LayersModel;
  config: TrainConfig;
}

export interface TrainHooks {
  /** The dataset; by default opened from config.data with lib/data. */
  data?: TrainData;
  /** Abort (e.g. on SIGINT): the current step finishes, the latest checkpoint is written, status 'interrupted'. */
  signal?: AbortSignal;
  /** Replaces the default losses, fitAsm, schedule and metrics (tests, custom losses). */
  deps?: Partial<TrainDeps>;
  /** Progress bar target (default process.stderr). */
  stderr?: ProgressStream;
  /** Called after each epoch's log line is written. */
  onEpoch?: (log: EpochLog) => void;
}

function dropoutLayers(model: tf.LayersModel): Array<{ seed?: number }> {
  // tfjs' Dropout draws its mask from `this.seed` when set (else Math.random, not reproducible);
  // the loop sets a fresh derived seed before each step.
  return model.layers.filter((l) => l.getClassName() === 'Dropout') as unknown as Array<{ seed?: number }>;
}

interface Paths {
  latest: string;
  best: string;
  log: string;
}

/** Fine-tuning (config.initFrom): the new model takes every weight of the trained model in `dir`. */
async function startFrom(model: tf.LayersModel, dir: string): Promise<void> {
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    model.dispose();
    throw new IoError(`config.initFrom: ${dir} holds no model.json; give a model folder (RUN/checkpoints/latest, models/NAME)`);
  }
  let source: tf.LayersModel | undefined;
  try {
    source = await loadModel(dir);
    copyWeights(model, source, `config.initFrom ${dir}`);
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    source?.dispose();
  }
}

function runPaths(out: string): Paths {
  return { latest: path.join(out, 'checkpoints', 'latest'), best: path.join(out, 'checkpoints', 'best'), log: path.join(out, 'log.jsonl') };
}

/** The text of log.jsonl, '' when there is none. */
function readLogText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Lines of log.jsonl's text, without a last line torn by a kill mid-append. */
function logLines(text: string): string[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length > 0 && parseLine(lines[lines.length - 1]) === null) lines.pop();
  return lines;
}

function parseLine(line: string): { epoch: number } | null {
  try {
    const v = JSON.parse(line);
    return v !== null && typeof v === 'object' && Number.isInteger(v.epoch) ? v : null;
  } catch {
    return null;
  }
}

function appendLog(file: string, log: EpochLog): void {
  try {
    fs.appendFileSync(file, JSON.stringify(log) + '\n');
  } catch (err) {
    throw new IoError(`${file}: cannot append the epoch's log line (${(err as Error).message}); the checkpoint holds it, --resume writes it`, err);
  }
}

/**
 * Makes log.jsonl agree with the checkpoint a run resumes from: one line per completed epoch.
 * Drops lines of epochs after the checkpoint (they are trained again) and a torn last line, and
 * appends the checkpoint's own epoch line when a kill came between the checkpoint and the append.
 */
function reconcileLog(file: string, state: TrainState): void {
  const before = readLogText(file);
  const kept = logLines(before).filter((l) => (parseLine(l)?.epoch ?? 0) <= state.epoch);
  const lastEpoch = kept.length > 0 ? (parseLine(kept[kept.length - 1])?.epoch ?? 0) : 0;
  if (lastEpoch < state.epoch && state.lastLog && state.lastLog.epoch === state.epoch) kept.push(JSON.stringify(state.lastLog));
  const after = kept.map((l) => l + '\n').join('');
  if (after !== before) writeFileAtomic(file, after);
}

interface SetFingerprint {
  faces: number;
  /** SHA-256 of the face ids, of the un-augmented targets' bytes, of the usable (readable) rows. */
  ids: string;
  landmarks: string;
  usable: string;
}

function setFingerprint(set: TrainSet): SetFingerprint {
  const sha = (x: string | Uint8Array) => createHash('sha256').update(x).digest('hex');
  return {
    faces: set.length,
    ids: sha(set.ids.join('\n')),
    landmarks: sha(new Uint8Array(set.targets.buffer, set.targets.byteOffset, set.targets.byteLength)),
    usable: sha(set.usable.join(',')),
  };
}

function dataFingerprint(data: TrainData): { version: 1; train: SetFingerprint; val: SetFingerprint } {
  return { version: 1, train: setFingerprint(data.train), val: setFingerprint(data.val) };
}

/**
 * Refuses to resume on other data than the run started with (split.json's ids; data.json's
 * fingerprint of ids, landmarks and readable faces where the run has one), saying what changed.
 */
function checkSameData(out: string, data: TrainData): void {
  const changes: string[] = [];
  const splitFile = path.join(out, 'split.json');
  if (fs.existsSync(splitFile)) {
    let saved: { train?: unknown; val?: unknown };
    try {
      saved = JSON.parse(fs.readFileSync(splitFile, 'utf8')) ?? {};
    } catch (err) {
      throw new CorruptFileError(splitFile, `unreadable (${(err as Error).message})`);
    }
    for (const part of ['train', 'val'] as const) {
      const before = Array.isArray(saved[part]) ? (saved[part] as string[]) : [];
      const now = data[part].ids;
      const was = new Set(before);
      const is = new Set(now);
      const gone = before.filter((id) => !is.has(id));
      const added = now.filter((id) => !was.has(id));
      const list = (ids: string[]) => ids.slice(0, 3).join(', ') + (ids.length > 3 ? `, ... (${ids.length})` : '');
      if (gone.length > 0) changes.push(`${part} faces gone: ${list(gone)}`);
      if (added.length > 0) changes.push(`${part} faces new: ${list(added)}`);
    }
  }
  const fpFile = path.join(out, 'data.json');
  if (changes.length === 0 && fs.existsSync(fpFile)) {
    let saved: ReturnType<typeof dataFingerprint>;
    try {
      saved = JSON.parse(fs.readFileSync(fpFile, 'utf8'));
    } catch (err) {
      throw new CorruptFileError(fpFile, `unreadable (${(err as Error).message})`);
    }
    const now = dataFingerprint(data);
    for (const part of ['train', 'val'] as const) {
      const a = saved?.[part];
      const b = now[part];
      if (!a) continue;
      if (a.ids !== b.ids) changes.push(`${part} face ids or their order changed`);
      else if (a.landmarks !== b.landmarks) changes.push(`${part} landmarks changed (an edited .pts or label file?)`);
      if (a.usable !== b.usable) changes.push(`${part} readable faces changed (--skip-bad now skips other faces: an image became unreadable?)`);
    }
  }
  if (changes.length > 0) {
    throw new ArgumentError(
      `--data: the dataset differs from the one this run started with (${changes.join('; ')}); resuming would train and validate on other faces. ` +
        `Restore the original data, or start over with --force`,
    );
  }
}

/** Validation NME (mean over faces) of `model` on `set`, no augmentation. */
async function validate(model: tf.LayersModel, set: TrainSet, deps: TrainDeps): Promise<number | null> {
  if (set.usable.length === 0) return null;
  const D = set.numLandmarks * 2;
  const preds: Float32Array[] = [];
  const gts: Float32Array[] = [];
  for await (const b of set.epoch(0, 0)) {
    const out = tf.tidy(() => model.predict(tf.tensor4d(b.images, [b.batchSize, b.size, b.size, 3])) as tf.Tensor);
    preds.push(await out.data<'float32'>());
    out.dispose();
    gts.push(b.landmarks);
  }
  const cat = (xs: Float32Array[]) => {
    const all = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
    let at = 0;
    for (const x of xs) {
      all.set(x, at);
      at += x.length;
    }
    return all;
  };
  const gt = cat(gts);
  if (gt.length === 0) return null;
  const per = deps.nme(cat(preds), gt, set.numLandmarks);
  if (per.length !== gt.length / D) throw new ArgumentError(`nme: expected ${gt.length / D} per-face values, got ${per.length}`);
  let sum = 0;
  for (let i = 0; i < per.length; i++) sum += per[i];
  return sum / per.length;
}

/** Trains a model as `config` says; see TrainConfig for the options and TrainHooks for injection. */
export async function train(partial: Partial<TrainConfig>, hooks: TrainHooks = {}): Promise<TrainResult> {
  const config = resolveTrainConfig(partial);
  const deps: TrainDeps = { ...defaultDeps(), ...hooks.deps };
  const stderr: ProgressStream = hooks.stderr ?? process.stderr;
  const paths = runPaths(config.out);
  // Before any data is read or time spent: a writable folder, one writer, no silent overwrite.
  prepareRunFolder(config.out);
  const lock = acquireRunLock(config.out);
  try {
    guardExistingRun(config.out, config);
    const data = hooks.data ?? (await deps.openData(config));
    const optimizer = tf.train.adam(config.lr);
    try {
      return await run(config, data, optimizer, deps, hooks, paths, stderr);
    } finally {
      optimizer.dispose(); // its state lives on in the checkpoint; the model is the caller's
      if (!hooks.data) {
        await data.train.close?.();
        await data.val.close?.();
      }
    }
  } finally {
    lock.release();
  }
}

async function run(
  config: TrainConfig,
  data: TrainData,
  optimizer: tf.AdamOptimizer,
  deps: TrainDeps,
  hooks: TrainHooks,
  paths: Paths,
  stderr: ProgressStream,
): Promise<TrainResult> {
  const { train: trainSet, val: valSet } = data;
  if (trainSet.usable.length === 0) throw new ArgumentError(`config.data: no training faces (${data.summary})`);
  const L = trainSet.numLandmarks;
  const D = 2 * L;

  // Resume or start fresh.
  let model: tf.LayersModel;
  let state: TrainState;
  if (config.resume) {
    // A crash during a checkpoint swap may have left the newest copy in latest.old / latest.tmp.
    recoverCheckpoint(paths.latest);
    recoverCheckpoint(paths.best);
  }
  const resumable = config.resume && checkpointPath(paths.latest) !== null;
  const loggedEpochs = config.resume && !resumable ? logLines(readLogText(paths.log)).length : 0;
  if (loggedEpochs > 0) {
    throw new IoError(
      `${paths.latest}: no complete checkpoint to resume from, but ${paths.log} records ${loggedEpochs} epochs; ` +
        `look for copies in ${path.dirname(paths.latest)}, or start over with --force (deletes the log)`,
    );
  }
  if (resumable) {
    const ck = await loadCheckpoint(paths.latest, optimizer);
    for (const k of RESUME_INVARIANT) {
      // Checkpoints written before a field existed were trained with its default.
      const was = ck.state.config[k] === undefined ? DEFAULT_TRAIN_CONFIG[k] : ck.state.config[k];
      if (JSON.stringify(was) !== JSON.stringify(config[k])) {
        throw new ArgumentError(`config.${k}: the checkpoint in ${paths.latest} was trained with ${JSON.stringify(was)}, this run asks for ${JSON.stringify(config[k])}`);
      }
    }
    // The data is pinned: a resumed run must see the faces, landmarks and split the run started with.
    try {
      checkSameData(config.out, data);
    } catch (err) {
      ck.model.dispose();
      throw err;
    }
    const stateFile = path.join(paths.latest, 'state.json');
    // The step count must agree with (epoch, step): else state.json was edited or the data changed size.
    const steps = trainSet.batchesPerEpoch();
    if (ck.state.globalStep !== ck.state.epoch * steps + ck.state.stepInEpoch || ck.state.stepInEpoch >= steps) {
      ck.model.dispose();
      throw new CorruptFileError(
        stateFile,
        `globalStep ${ck.state.globalStep} does not match epoch ${ck.state.epoch} x ${steps} steps + ${ck.state.stepInEpoch}; the file was altered, or the training data no longer gives ${steps} batches an epoch`,
      );
    }
    model = ck.model;
    state = ck.state;
    reconcileLog(paths.log, state);
  } else {
    model = buildModel({ arch: config.arch, inputSize: config.inputSize, width: config.width, head: config.head, init: config.init, numLandmarks: L, dropout: config.dropout, seed: config.seed });
    if (config.initFrom) await startFrom(model, config.initFrom);
    state = { version: CHECKPOINT_VERSION, epoch: 0, stepInEpoch: 0, globalStep: 0, epochLossSum: 0, epochImages: 0, bestNme: null, bestEpoch: null, config, lastLog: null };
  }
  writeFileAtomic(path.join(config.out, 'config.json'), JSON.stringify(config, null, 2));
  writeFileAtomic(path.join(config.out, 'split.json'), JSON.stringify({ train: trainSet.ids, val: valSet.ids }));
  writeFileAtomic(path.join(config.out, 'data.json'), JSON.stringify(dataFingerprint(data), null, 1));

  // ACR: the ASM is fitted on the training faces only (never validation), on the same normalised
  // targets the network learns (see phi.ts for the three Phi sources).
  let phi: PhiSource | null = null;
  if (config.loss === 'acr') {
    const usable = trainSet.usable.length === trainSet.length ? trainSet.targets : gatherRows(trainSet.targets, D, trainSet.usable);
    const flips = config.augment ? trainSet.flipPermutation : null;
    if (config.phiSource === 'aligned') {
      // Mirrored faces are trained on too: the aligned model learns both orientations' shapes.
      const shapes = flips ? concatRows(usable, mirrorShapes(usable, flips)) : usable;
      const { aligned, mean } = alignShapes(shapes, L);
      const asm = deps.fitAsm(Float32Array.from(aligned), L);
      writeFileAtomic(path.join(config.out, 'asm.json'), JSON.stringify(asm.toJSON()));
      phi = new AlignedPhi(asm, mean, L, config.phiMode);
    } else {
      const asm = deps.fitAsm(usable, L);
      writeFileAtomic(path.join(config.out, 'asm.json'), JSON.stringify(asm.toJSON()));
      phi = new PhiLookup(asm, trainSet.targets, L, config.phiMode, flips);
      if (config.phiSource === 'shuffled') phi = new ShuffledPhi(phi, L, config.phiMode, config.seed);
    }
  }
  const lossFn = deps.loss(config);

  const stepsPerEpoch = trainSet.batchesPerEpoch();
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const dropouts = dropoutLayers(model);
  const history: EpochLog[] = [];
  let stepsThisProcess = 0;
  let status: TrainStatus = 'completed';
  const runStart = Date.now();
  const startStep = state.globalStep;
  const stopRequested = () => hooks.signal?.aborted === true || (config.stopAfterSteps > 0 && stepsThisProcess >= config.stopAfterSteps);

  epochs: while (state.epoch < config.epochs) {
    const epoch = state.epoch;
    if (state.stepInEpoch === 0) {
      state.epochLossSum = 0;
      state.epochImages = 0;
    }
    const level = phi ? deps.schedule(epoch, config.epochs) : null;
    const bar = config.progress ? new ProgressBar(stderr, `epoch ${epoch + 1}/${config.epochs}`, stepsPerEpoch) : null;
    let dataMs = 0;
    let computeMs = 0;
    let lossMs = 0;
    let lossSampledComputeMs = 0;
    let imagesThisEpoch = 0;
    let lr = learningRate(config, state.globalStep, stepsPerEpoch);
    const epochStart = Date.now();
    const batches = trainSet.epoch(epoch, state.stepInEpoch)[Symbol.asyncIterator]();

    while (state.stepInEpoch < stepsPerEpoch) {
      const step = state.stepInEpoch;
      const t0 = performance.now();
      const next = await batches.next();
      const t1 = performance.now();
      if (next.done) break;
      const batch = next.value;
      const B = batch.batchSize;
      lr = learningRate(config, state.globalStep, stepsPerEpoch);
      // Adam reads this.learningRate on every applyGradients; tfjs only marks it protected.
      (optimizer as unknown as { learningRate: number }).learningRate = lr;
      const dropSeed = mixSeed(config.seed, 'dropout', epoch, step);
      dropouts.forEach((d, i) => (d.seed = mixSeed(dropSeed, i)));
      const x = tf.tensor4d(batch.images, [B, batch.size, batch.size, 3]);
      const y = tf.tensor2d(batch.landmarks, [B, D]);
      const p = phi && level !== null ? tf.tensor2d(phi.forBatch(level, epoch, batch.indices, batch.landmarks), [B, D]) : null;
      const cost = optimizer.minimize(() => lossFn(y, model.apply(x, { training: true }) as tf.Tensor2D, p), true, vars)!;
      const lossValue = (await cost.data())[0];
      const t2 = performance.now();
      // The loss's own share, timed apart on every 10th step (forward + gradient, same shapes).
      if (step % 10 === 0) {
        const pred = tf.randomNormal([B, D], 0, 0.1, 'float32', dropSeed);
        const l0 = performance.now();
        const g = tf.grad((q: tf.Tensor) => lossFn(y, q as tf.Tensor2D, p))(pred);
        await g.data();
        lossMs += performance.now() - l0;
        lossSampledComputeMs += t2 - t1;
        tf.dispose([pred, g]);
      }
      tf.dispose([x, y, cost, ...(p ? [p] : [])]);
      if (!Number.isFinite(lossValue)) {
        throw new ValueRangeError(`training diverged: loss ${lossValue} at epoch ${epoch + 1}, step ${step + 1} (try a lower lr)`);
      }
      dataMs += t1 - t0;
      computeMs += t2 - t1;
      state.epochLossSum += lossValue * B;
      state.epochImages += B;
      imagesThisEpoch += B;
      state.stepInEpoch++;
      state.globalStep++;
      stepsThisProcess++;

      const elapsed = (Date.now() - runStart) / 1000;
      const left = config.epochs * stepsPerEpoch - state.globalStep;
      bar?.update(state.stepInEpoch, state.epochLossSum / state.epochImages, imagesThisEpoch / Math.max(1e-3, (Date.now() - epochStart) / 1000), (elapsed / (state.globalStep - startStep)) * left);

      if (stopRequested() && state.stepInEpoch < stepsPerEpoch) {
        await batches.return?.(undefined);
        await saveCheckpoint(paths.latest, model, optimizer, { ...state, config });
        status = hooks.signal?.aborted ? 'interrupted' : 'stopped';
        bar?.finish(`${status} at step ${state.stepInEpoch}/${stepsPerEpoch}; checkpoint written`);
        break epochs;
      }
      if (config.checkpointEvery > 0 && state.globalStep % config.checkpointEvery === 0 && state.stepInEpoch < stepsPerEpoch) {
        await saveCheckpoint(paths.latest, model, optimizer, { ...state, config });
      }
    }
    await batches.return?.(undefined);
    const trainS = (Date.now() - epochStart) / 1000;

    const v0 = Date.now();
    const valNme = await validate(model, valSet, deps);
    const valTimeS = (Date.now() - v0) / 1000;
    // A diverged model is not checkpointed over the last good one.
    if (valNme !== null && !(valNme <= DIVERGED_NME)) {
      throw new ValueRangeError(
        `training diverged: validation NME ${Number.isFinite(valNme) ? (100 * valNme).toExponential(2) + '%' : String(valNme)} at epoch ${epoch + 1} ` +
          `(predictions far outside the face); lower the learning rate (lr ${config.lr}) and start again with --force, or resume from the last checkpoint with a lower --lr`,
      );
    }
    const isBest = valNme !== null && (state.bestNme === null || valNme < state.bestNme);
    if (isBest) {
      state.bestNme = valNme;
      state.bestEpoch = epoch + 1;
    }
    const stepMs = dataMs + computeMs;
    const log: EpochLog = {
      epoch: epoch + 1,
      globalStep: state.globalStep,
      loss: state.epochLossSum / Math.max(1, state.epochImages),
      valNme,
      lr,
      level,
      timeS: trainS,
      valTimeS,
      imagesPerSec: imagesThisEpoch / Math.max(1e-3, trainS),
      share: {
        data: stepMs > 0 ? dataMs / stepMs : 0,
        compute: stepMs > 0 ? computeMs / stepMs : 0,
        loss: lossSampledComputeMs > 0 ? Math.min(1, lossMs / lossSampledComputeMs) * (computeMs / stepMs) : 0,
      },
      best: isBest,
    };
    state.epoch++;
    state.stepInEpoch = 0;
    // The log line travels in the checkpoint: a kill before the append below is repaired on resume.
    state.lastLog = { ...log };
    const snapshot: TrainState = { ...state, config };
    if (isBest) await saveCheckpoint(paths.best, model, optimizer, snapshot);
    await saveCheckpoint(paths.latest, model, optimizer, snapshot);
    appendLog(paths.log, log);
    history.push(log);
    bar?.finish(
      `loss ${log.loss.toPrecision(4)}, val NME ${valNme === null ? '-' : (100 * valNme).toFixed(3) + '%'}, ` +
        `${log.imagesPerSec.toFixed(1)} img/s, ${formatDuration(trainS)} (data wait ${(100 * log.share.data).toFixed(0)}%, loss ${(100 * log.share.loss).toFixed(1)}%)${isBest ? ', best' : ''}`,
    );
    hooks.onEpoch?.(log);
    if (stopRequested() && state.epoch < config.epochs) {
      status = hooks.signal?.aborted ? 'interrupted' : 'stopped';
      break;
    }
  }
  return { status, epochsDone: state.epoch, globalStep: state.globalStep, bestNme: state.bestNme, bestEpoch: state.bestEpoch, history, model, config };
}

function concatRows(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Rows of `table` (n x width) picked by `indices`. */
function gatherRows(table: Float32Array, width: number, indices: readonly number[]): Float32Array {
  const out = new Float32Array(indices.length * width);
  indices.forEach((r, i) => out.set(table.subarray(r * width, (r + 1) * width), i * width));
  return out;
}
