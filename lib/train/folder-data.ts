/**
 * TrainData from a dataset on disk (lib/data): load, split reproducibly (per source, seeded),
 * and wrap the batch loader. The validation faces never reach the training loader or fitAsm.
 */
import { ArgumentError } from '../errors';
import { DataLoader, cropTransform, flipPermutation, landmarksToCrop, loadDataset, splitDataset, type FaceRecord } from '../data';
import type { TrainConfig } from './config';
import type { TrainData, TrainSet } from './data';

/** Un-augmented network targets (N x 2L) of `records`: the plain crop, u = x_crop / size - 0.5. */
export function cropTargets(records: readonly FaceRecord[], size: number, margin: number): Float32Array {
  if (records.length === 0) return new Float32Array(0);
  const D = records[0].landmarks.length;
  const out = new Float32Array(records.length * D);
  records.forEach((r, i) => out.set(landmarksToCrop(r.landmarks, cropTransform({ box: r.box, landmarks: r.landmarks, size, margin }), size), i * D));
  return out;
}

/**
 * DataLoader.close awaits Worker.terminate() on idle workers the loader has unref'd; with no other
 * handle alive Node can leave the event loop during that await and exit with code 0 before the
 * caller continues. A ref'd timer keeps the process alive until the workers are gone.
 */
async function closeLoader(loader: DataLoader): Promise<void> {
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    await loader.close();
  } finally {
    clearInterval(keepAlive);
  }
}

type SetOptions = Pick<TrainConfig, 'inputSize' | 'batchSize' | 'seed' | 'margin' | 'prefetch' | 'workers' | 'onBadData' | 'augScale' | 'augShift' | 'augRotation' | 'augOcclusion'> & {
  augment: boolean;
  training: boolean;
  /** Per-record sampling weights (DataLoader options.weights). */
  weights?: number[];
};

function emptySet(numLandmarks: number): TrainSet {
  return {
    length: 0,
    numLandmarks,
    ids: [],
    targets: new Float32Array(0),
    usable: [],
    flipPermutation: null,
    batchesPerEpoch: () => 0,
    epoch: async function* () {},
  };
}

/** A TrainSet over `records` backed by a DataLoader (decoded-image cache, prefetch, workers). */
export async function recordSet(records: FaceRecord[], numLandmarks: number, o: SetOptions): Promise<TrainSet> {
  if (records.length === 0) return emptySet(numLandmarks);
  const loader = await DataLoader.create(records, {
    size: o.inputSize,
    batchSize: o.batchSize,
    seed: o.seed,
    margin: o.margin,
    augment: o.augment ? { scale: o.augScale, translation: o.augShift, rotation: o.augRotation, occlusionProb: o.augOcclusion } : false,
    shuffle: o.training,
    dropLast: o.training,
    prefetch: o.prefetch,
    workers: o.training ? o.workers : 0,
    onError: o.onBadData === 'skip' ? 'skip' : 'throw',
    ...(o.weights ? { weights: o.weights } : {}),
  });
  if (o.training && loader.batchesPerEpoch() === 0) {
    await loader.close();
    throw new ArgumentError(`config.batchSize: ${o.batchSize} is larger than the ${loader.usable.length} training faces`);
  }
  return {
    length: records.length,
    numLandmarks,
    ids: records.map((r) => r.id),
    targets: cropTargets(records, o.inputSize, o.margin),
    usable: loader.usable,
    flipPermutation: o.augment ? (flipPermutation(numLandmarks) ?? null) : null,
    batchesPerEpoch: () => loader.batchesPerEpoch(),
    epoch: (epoch, startBatch) => loader.epoch(epoch, { startBatch }),
    close: () => closeLoader(loader),
  };
}

/**
 * Opens config.data, applies config.limit, splits off config.valFraction per source; appends the
 * faces of config.extraData (training only) with their sampling weights.
 */
export async function openDataset(config: TrainConfig): Promise<TrainData> {
  const onError = config.onBadData === 'skip' ? 'skip' : 'throw';
  const ds = await loadDataset(config.data, { onError });
  const records = config.limit > 0 ? ds.records.slice(0, config.limit) : ds.records;
  const split = splitDataset(records, { valFraction: config.valFraction, seed: config.splitSeed ?? config.seed });
  const trainRecords = split.train.slice();
  const weights: number[] = trainRecords.map(() => 1);
  const summaries = [ds.summary];
  for (const [i, extra] of config.extraData.entries()) {
    const e = await loadDataset(extra.path, { onError });
    if (e.numLandmarks !== ds.numLandmarks) {
      throw new ArgumentError(`config.extraData[${i}]: ${extra.path} has ${e.numLandmarks} landmarks per face, ${config.data} has ${ds.numLandmarks}`);
    }
    trainRecords.push(...e.records);
    weights.push(...e.records.map(() => extra.weight));
    summaries.push(`extra ${e.summary} (weight ${extra.weight})`);
  }
  const common = { ...config, augment: false, training: false };
  const train = await recordSet(trainRecords, ds.numLandmarks, {
    ...common,
    augment: config.augment,
    training: true,
    ...(config.extraData.length > 0 ? { weights } : {}),
  });
  const val = await recordSet(split.val, ds.numLandmarks, common);
  return { train, val, summary: `${summaries.join('; ')}; ${trainRecords.length} train / ${split.val.length} validation faces` };
}
