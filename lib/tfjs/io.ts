/**
 * Save and load tfjs models to and from a folder (model.json + weights.bin, the layout tfjs'
 * own file:// handler writes) without tfjs-node, whose file handler needs libtensorflow.
 * Each file is written to a temporary name, flushed and renamed into place, so a crash never
 * leaves a half-written model.json or weights.bin behind.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CorruptFileError, IoError, ParseError } from '../errors';
import { toFloat16 } from '../float16';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
/** Sizes and SHA-256 of the other files of a folder, written last: see writeManifest. */
export const MANIFEST_JSON = 'manifest.json';

export interface FolderManifest {
  version: 1;
  files: Record<string, { bytes: number; sha256: string }>;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function readForCheck(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new IoError(`${file}: cannot read (${(err as Error).message})`, err);
  }
}

/** Records the size and SHA-256 of `names` (files in `dir`) in dir/manifest.json, atomically. */
export function writeManifest(dir: string, names: readonly string[]): void {
  const manifest: FolderManifest = { version: 1, files: {} };
  for (const name of names) {
    const bytes = readForCheck(path.join(dir, name));
    manifest.files[name] = { bytes: bytes.byteLength, sha256: sha256(bytes) };
  }
  writeFileAtomic(path.join(dir, MANIFEST_JSON), JSON.stringify(manifest, null, 1));
}

/**
 * Checks `names` (default: every file listed) against dir/manifest.json. 'legacy' when the folder
 * has no manifest (written before manifests existed: nothing to check against); a mismatch throws
 * CorruptFileError naming the damaged file.
 */
export function verifyManifest(dir: string, names?: readonly string[]): 'verified' | 'legacy' {
  const file = path.join(dir, MANIFEST_JSON);
  if (!fs.existsSync(file)) return 'legacy';
  let manifest: FolderManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as FolderManifest;
  } catch (err) {
    throw new CorruptFileError(file, `unreadable manifest (${(err as Error).message})`);
  }
  if (manifest === null || typeof manifest !== 'object' || manifest.files === null || typeof manifest.files !== 'object') {
    throw new CorruptFileError(file, 'not a manifest (expected { version, files: { name: { bytes, sha256 } } })');
  }
  for (const name of names ?? Object.keys(manifest.files)) {
    const want = manifest.files[name];
    if (!want) throw new CorruptFileError(file, `does not list ${name}`);
    const at = path.join(dir, name);
    const bytes = readForCheck(at);
    const hint = 'the file was damaged after it was written; use another checkpoint (e.g. checkpoints/best) or retrain';
    if (bytes.byteLength !== want.bytes) throw new CorruptFileError(at, `has ${bytes.byteLength} bytes, ${MANIFEST_JSON} recorded ${want.bytes} (truncated or replaced); ${hint}`);
    const got = sha256(bytes);
    if (got !== want.sha256) throw new CorruptFileError(at, `SHA-256 ${got.slice(0, 12)}... does not match ${MANIFEST_JSON} (${want.sha256.slice(0, 12)}...); ${hint}`);
  }
  return 'verified';
}

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

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/**
 * float32 weights re-encoded as float16 with tfjs' own `quantization: { dtype: 'float16' }`,
 * which tf.loadLayersModel decodes back to float32: half the bytes.
 */
function halfWeights(specs: tf.io.WeightsManifestEntry[], bytes: Uint8Array): { specs: tf.io.WeightsManifestEntry[]; bytes: Uint8Array } {
  const parts: Uint8Array[] = [];
  const out: tf.io.WeightsManifestEntry[] = [];
  let at = 0;
  for (const s of specs) {
    const bytesPer = DTYPE_BYTES[s.dtype];
    if (s.quantization || bytesPer === undefined) throw new IoError(`weight '${s.name}': cannot store ${s.quantization ? `${s.quantization.dtype}-quantized` : s.dtype} weights as float16; save as float32`);
    const size = s.shape.reduce((a, d) => a * d, 1) * bytesPer;
    const raw = bytes.subarray(at, at + size);
    at += size;
    if (s.dtype === 'float32') {
      parts.push(new Uint8Array(toFloat16(new Float32Array(raw.slice().buffer)).buffer));
      out.push({ ...s, quantization: { dtype: 'float16' } });
    } else {
      parts.push(raw);
      out.push(s);
    }
  }
  return { specs: out, bytes: Buffer.concat(parts) };
}

/**
 * An IO handler that saves to `dir` (created if needed): `await model.save(folderSaver(dir))`.
 * float16: float32 weights stored at half precision (for shipping; training checkpoints stay float32).
 */
export function folderSaver(dir: string, options: { float16?: boolean } = {}): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    let bytes = weightBytes(artifacts.weightData);
    let specs = artifacts.weightSpecs ?? [];
    if (options.float16) ({ specs, bytes } = halfWeights(specs, bytes));
    const manifest: tf.io.WeightsManifestConfig = [{ paths: [WEIGHTS_BIN], weights: specs }];
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
        // A short or long weights file would otherwise surface as tfjs' "tensor should have N values".
        const need = expectedBytes(specs);
        if (need !== null && need !== total) {
          const names = manifest.flatMap((g) => g.paths.map((p) => path.resolve(dir, p))).join(', ');
          throw new CorruptFileError(names, `has ${total} bytes, ${MODEL_JSON} needs ${need} for its ${specs.length} weights (truncated or from another model)`);
        }
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

/** Bytes the weight specs need, or null when some spec is quantized or of an unusual dtype. */
function expectedBytes(specs: readonly tf.io.WeightsManifestEntry[]): number | null {
  let n = 0;
  for (const s of specs) {
    const b = DTYPE_BYTES[s.dtype];
    if (b === undefined || s.quantization) return null;
    n += s.shape.reduce((a, d) => a * d, 1) * b;
  }
  return n;
}

/** Saves a layers model to a folder (model.json + weights.bin); float16: weights at half precision. */
export async function saveModel(model: tf.LayersModel, dir: string, options: { float16?: boolean } = {}): Promise<void> {
  await model.save(folderSaver(dir, options));
}

/**
 * Loads a layers model saved by saveModel (or by tfjs' own file:// handler). Where the folder has
 * a manifest.json (checkpoints), model.json and weights.bin are checked against it first; in any
 * case a weight holding NaN or Inf is refused, naming weights.bin.
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  if (fs.existsSync(path.join(dir, MANIFEST_JSON))) verifyManifest(dir, [MODEL_JSON, WEIGHTS_BIN]);
  const model = await tf.loadLayersModel(folderLoader(dir));
  for (const w of model.weights) {
    const values = w.read().dataSync();
    let bad = 0;
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) bad++;
    if (bad > 0) {
      model.dispose();
      throw new CorruptFileError(path.join(dir, WEIGHTS_BIN), `weight '${w.originalName}' holds ${bad} NaN or infinite values; the file is damaged, or it was saved from a diverged training`);
    }
  }
  return model;
}
