/**
 * Save and load tfjs models to and from a folder (model.json + weights.bin, the layout tfjs'
 * own file:// handler writes) without tfjs-node, whose file handler needs libtensorflow.
 * Each file is written to a temporary name, flushed and renamed into place, so a crash never
 * leaves a half-written model.json or weights.bin behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { IoError, ParseError } from '../errors';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Writes `data` to `file` atomically: temp file in the same folder, fsync, rename, fsync folder. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    syncDir(dir);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // The folder itself may be unusable (e.g. a file in its place); report the write error.
    }
    throw new IoError(`${file}: cannot write (${(err as Error).message})`, err);
  }
}

/** fsync a folder so a rename in it survives a power cut (a no-op where folders cannot be opened). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a folder; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

/** An IO handler that saves to `dir` (created if needed): `await model.save(folderSaver(dir))`. */
export function folderSaver(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    const bytes = weightBytes(artifacts.weightData);
    const manifest: tf.io.WeightsManifestConfig = [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }];
    const json: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightsManifest: manifest,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
    };
    if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
    if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
    // Weights first: model.json names weights.bin, so it must not point at a stale file.
    writeFileAtomic(path.join(dir, WEIGHTS_BIN), bytes);
    writeFileAtomic(path.join(dir, MODEL_JSON), JSON.stringify(json));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  });
}

/** An IO handler that loads what folderSaver wrote: `await tf.loadLayersModel(folderLoader(dir))`. */
export function folderLoader(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const jsonPath = path.join(dir, MODEL_JSON);
      let text: string;
      try {
        text = fs.readFileSync(jsonPath, 'utf8');
      } catch (err) {
        throw new IoError(`${jsonPath}: cannot read model (${(err as Error).message})`, err);
      }
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(text) as tf.io.ModelJSON;
      } catch (err) {
        throw new ParseError(jsonPath, undefined, `not valid JSON (${(err as Error).message})`);
      }
      if (json === null || typeof json !== 'object' || json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
        throw new ParseError(jsonPath, undefined, 'not a tfjs model.json (needs modelTopology and weightsManifest)');
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const parts: Uint8Array[] = [];
        for (const group of manifest) {
          for (const p of group.paths) {
            const file = path.resolve(dir, p);
            if (path.dirname(file) !== path.resolve(dir)) throw new ParseError(jsonPath, undefined, `weights path '${p}' leaves the model folder`);
            try {
              parts.push(fs.readFileSync(file));
            } catch (err) {
              throw new IoError(`${file}: cannot read weights (${(err as Error).message})`, err);
            }
          }
          specs.push(...group.weights);
        }
        const total = parts.reduce((n, b) => n + b.byteLength, 0);
        const all = new Uint8Array(total);
        let at = 0;
        for (const b of parts) {
          all.set(b, at);
          at += b.byteLength;
        }
        return [specs, all.buffer];
      });
    },
  };
}

/** Saves a layers model to a folder (model.json + weights.bin). */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(folderSaver(dir));
}

/** Loads a layers model saved by saveModel (or by tfjs' own file:// handler). */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(folderLoader(dir));
}
