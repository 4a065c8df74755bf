/**
 * Predictor: landmarks on photos with an exported ONNX model on onnxruntime-node (CPU).
 * Crops and normalises with the same preprocessFace that training uses (lib/data/image.ts),
 * runs the network on a batch and maps the outputs back to source-image pixels.
 */
import { promises as fs } from 'fs';
import type * as ortTypes from 'onnxruntime-node';
import {
  type Affine,
  decodeImage,
  type ImageInput,
  landmarkBox,
  landmarksToSource,
  preprocessFaceSync,
  type RawImage,
} from '../data/image';
import { flipLandmarks } from '../data/flip';
import { type Box, PIXEL_OFFSET, PIXEL_SCALE } from '../data/types';
import { ArgumentError, CorruptFileError, IoError, ParseError, ShapeError, UnsupportedError, ValueRangeError } from '../errors';
import { describe, integer, options as optionsObject } from '../validate';
import { detectFaces } from './detect';
import { type LandmarkModelMetadata, INPUT_NAME, OUTPUT_NAME, parseMetadata } from './metadata';
import { pretrainedModelPath } from './pretrained';
import { decodeModel, GRAPH_DIGEST_KEY, graphDigest } from './proto';

export interface LoadOptions {
  /** Refuse a model that does not predict this many landmarks. */
  numLandmarks?: number;
  /** onnxruntime intra-op threads; default: onnxruntime's choice (all cores). */
  numThreads?: number;
}

export interface PredictOptions {
  /** Face box [x, y, width, height] in source pixels. */
  box?: Box;
  /**
   * Test-time flip: also run the mirrored crop and average. Default: on when the model's metadata
   * has a flip permutation (it lowers NME by ~5 % on held-out 300-W faces, docs/results.md) at
   * twice the network cost; true demands it (an error without a permutation), false turns it off.
   */
  flip?: boolean;
  /**
   * Rounds of re-placing the crop on the box of the predicted landmarks and predicting again
   * (default 0). Training places crops on the landmarks' box; a detector's box sits elsewhere, and
   * each round moves the crop to where training put it: on held-out 300-W faces with the package's
   * detector, 2 rounds took NME 4.62 -> 4.53 % and FR 1.0 -> 0.5 % (docs/results.md), at 1 + N
   * times the network cost.
   */
  refine?: number;
}

/** Options of a batch: those of `predict` that apply to every item. */
export type BatchOptions = Pick<PredictOptions, 'flip' | 'refine'>;

/** A path, an encoded image (JPEG, PNG, ...) or raw 8-bit RGB pixels ({ data, width, height }). */
export type PredictImage = ImageInput | { data: Uint8Array; width: number; height: number };

export interface PredictItem {
  image: PredictImage;
  /** Face box; when absent the best face the optional detector finds (lib/onnx/detect.ts). */
  box?: Box;
}

export interface FacePrediction {
  /** L x 2 landmarks [x0, y0, x1, y1, ...] in source-image pixels. */
  landmarks: Float32Array;
  /** The network's output, u = x_crop / size - 0.5 (after flip averaging when it ran). */
  normalized: Float32Array;
  /** The face box the crop was placed on. */
  box: Box;
  /** Detector confidence when the box came from face detection. */
  score?: number;
  /** Source pixels -> crop pixels of the network input. */
  transform: Affine;
}

type Ort = typeof ortTypes;
let ortModule: Ort | undefined;

/**
 * What a user must do to get onnxruntime-node, an optional peer dependency: it is not installed with
 * acr-loss because its install script downloads CUDA libraries from outside the npm registry
 * (api.nuget.org) on linux-x64, which fails the whole `npm install` on a machine that reaches only
 * the registry. The CPU provider the Predictor uses ships inside its npm package.
 */
export const ONNXRUNTIME_HINT =
  "Predictor needs onnxruntime-node, an optional peer dependency of acr-loss: 'npm install onnxruntime-node@1.30.0'. " +
  'On linux-x64 its install script downloads CUDA libraries from api.nuget.org; where that host is unreachable (or the CUDA ' +
  "provider unwanted) install with the environment variable ONNXRUNTIME_NODE_INSTALL=skip, or put \"allowScripts\": " +
  '{"onnxruntime-node": false} in your package.json (npm >= 11); the CPU provider the Predictor uses is inside the npm package';

/** onnxruntime-node is loaded on first use: importing the package stays cheap. */
function ort(): Ort {
  if (!ortModule) {
    try {
      ortModule = require('onnxruntime-node') as Ort;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const missing = e.code === 'MODULE_NOT_FOUND' && /'onnxruntime-node'/.test(e.message);
      throw new UnsupportedError(
        missing ? `${ONNXRUNTIME_HINT} (it is not installed)` : `Predictor: onnxruntime-node cannot be loaded (${e.message.split('\n')[0]}). ${ONNXRUNTIME_HINT}`,
      );
    }
  }
  return ortModule;
}

/** Raw RGB may come without `channels`; the shared decoder wants it spelled out. */
function imageInput(v: PredictImage): ImageInput {
  const r = v as { data?: unknown; channels?: unknown };
  if (v && typeof v === 'object' && !(v instanceof Uint8Array) && r.data instanceof Uint8Array && r.channels === undefined) {
    return { ...(v as object), channels: 3 } as RawImage;
  }
  return v as ImageInput;
}

function checkBox(box: unknown, image: RawImage, where: string): Box {
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new ArgumentError(`${where}: expected [x, y, width, height] with finite numbers, got ${describe(box)}`);
  }
  const [x, y, w, h] = box as Box;
  if (!(w > 0 && h > 0)) throw new ValueRangeError(`${where}: width and height must be > 0, got ${w}x${h}`);
  if (x >= image.width || y >= image.height || x + w <= 0 || y + h <= 0) {
    throw new ValueRangeError(`${where}: [${x}, ${y}, ${w}, ${h}] lies outside the ${image.width}x${image.height} image`);
  }
  return [x, y, w, h];
}

/** Mirrors a size x size x 3 HWC image left-right into `out`. */
function mirror(src: Float32Array, size: number, out: Float32Array): void {
  for (let y = 0; y < size; y++) {
    const row = y * size * 3;
    for (let x = 0; x < size; x++) {
      const s = row + x * 3;
      const d = row + (size - 1 - x) * 3;
      out[d] = src[s];
      out[d + 1] = src[s + 1];
      out[d + 2] = src[s + 2];
    }
  }
}

export class Predictor {
  private disposed = false;

  private constructor(
    private readonly session: ortTypes.InferenceSession,
    /** What the model says about itself (landmark count, input size, normalisation, flip, ...). */
    readonly metadata: LandmarkModelMetadata,
    /** The file the model came from, or '<buffer>'. */
    readonly source: string,
  ) {}

  /**
   * Loads an ONNX model exported by exportOnnx from a path or from its bytes; without one, the
   * pretrained model shipped in models/.
   */
  static async load(model?: string | Uint8Array, options?: LoadOptions): Promise<Predictor> {
    const opts = optionsObject<LoadOptions>('options', options);
    if (model === undefined) model = pretrainedModelPath();
    let bytes: Uint8Array;
    let source: string;
    if (typeof model === 'string') {
      source = model;
      try {
        bytes = await fs.readFile(model);
      } catch (err) {
        throw new IoError(`model: cannot read ${model}: ${(err as Error).message}`, err);
      }
    } else if (model instanceof Uint8Array) {
      source = '<buffer>';
      bytes = model;
    } else {
      throw new ArgumentError(`model: expected a path or the model's bytes (Uint8Array), got ${describe(model)}`);
    }
    let decoded;
    try {
      decoded = decodeModel(bytes);
    } catch (err) {
      throw new ParseError(source, undefined, `not an ONNX model (${(err as Error).message})`);
    }
    // Models exported since the digest was introduced carry it; older ones load unverified.
    const digest = decoded.metadata[GRAPH_DIGEST_KEY];
    if (digest !== undefined && digest !== graphDigest(bytes)) {
      throw new CorruptFileError(source, `the graph's SHA-256 differs from the one recorded at export (${GRAPH_DIGEST_KEY}): the file is damaged; export it again`);
    }
    const meta = parseMetadata(source, decoded.metadata);
    const input = decoded.inputs.find((i) => i.name === INPUT_NAME);
    const output = decoded.outputs.find((o) => o.name === OUTPUT_NAME);
    if (!input || !output) {
      throw new ParseError(source, undefined, `expected an input '${INPUT_NAME}' and an output '${OUTPUT_NAME}'`);
    }
    const [, h, w, c] = input.shape;
    if (h !== meta.inputHeight || w !== meta.inputWidth || output.shape[1] !== 2 * meta.numLandmarks) {
      throw new ParseError(source, undefined, `graph shapes [${input.shape}] -> [${output.shape}] do not match the metadata`);
    }
    if (c !== 3) throw new UnsupportedError(`model: the Predictor feeds RGB images (3 channels), the model takes ${c}`);
    if (meta.inputHeight !== meta.inputWidth) {
      throw new UnsupportedError(`model: the Predictor needs a square input, the model takes ${meta.inputHeight}x${meta.inputWidth}`);
    }
    if (Math.abs(meta.pixelScale - PIXEL_SCALE) > 1e-9 || Math.abs(meta.pixelOffset - PIXEL_OFFSET) > 1e-9) {
      throw new UnsupportedError(
        `model: normalisation pixel * ${meta.pixelScale} + ${meta.pixelOffset} differs from this package's ` +
          `pixel * ${PIXEL_SCALE} + ${PIXEL_OFFSET}`,
      );
    }
    if (opts.numLandmarks !== undefined && integer('options.numLandmarks', opts.numLandmarks, 1) !== meta.numLandmarks) {
      throw new ShapeError(`model: ${source} predicts ${meta.numLandmarks} landmarks, expected ${opts.numLandmarks}`);
    }
    const sessionOptions: ortTypes.InferenceSession.SessionOptions = { executionProviders: ['cpu'] };
    if (opts.numThreads !== undefined) sessionOptions.intraOpNumThreads = integer('options.numThreads', opts.numThreads, 1, 1024);
    const { InferenceSession } = ort(); // outside the try: a missing onnxruntime is not a bad model
    let session: ortTypes.InferenceSession;
    try {
      session = await InferenceSession.create(bytes, sessionOptions);
    } catch (err) {
      throw new ParseError(source, undefined, `onnxruntime cannot load the model (${(err as Error).message})`);
    }
    return new Predictor(session, meta, source);
  }

  get numLandmarks(): number {
    return this.metadata.numLandmarks;
  }

  /** Side of the square network input in pixels. */
  get inputSize(): number {
    return this.metadata.inputHeight;
  }

  /**
   * Runs the network on `n` preprocessed crops (NHWC float32, already normalised) and returns
   * the raw outputs, n x 2L normalised crop coordinates.
   */
  async run(images: Float32Array, n: number): Promise<Float32Array> {
    const s = this.inputSize;
    integer('n', n, 1);
    if (!(images instanceof Float32Array) || images.length !== n * s * s * 3) {
      throw new ShapeError(`images: expected a Float32Array of ${n} x ${s} x ${s} x 3 = ${n * s * s * 3} values, got ${describe(images)}`);
    }
    const { Tensor } = ort();
    const res = await this.session.run({ [INPUT_NAME]: new Tensor('float32', images, [n, s, s, 3]) });
    return res[OUTPUT_NAME].data as Float32Array;
  }

  /** Landmarks of one face. */
  async predict(image: PredictImage, options?: PredictOptions): Promise<FacePrediction> {
    const opts = optionsObject<PredictOptions>('options', options);
    const [res] = await this.predictBatch([{ image, box: opts.box }], { flip: opts.flip, refine: opts.refine });
    return res;
  }

  /** Landmarks of many faces in one network run (one image can appear in several items). */
  async predictBatch(items: PredictItem[], options?: BatchOptions): Promise<FacePrediction[]> {
    if (this.disposed) throw new ArgumentError(`Predictor (${this.source}): used after dispose(); load the model again with Predictor.load`);
    if (!Array.isArray(items) || items.length === 0) {
      throw new ArgumentError(`items: expected a non-empty array of { image, box }, got ${describe(items)}`);
    }
    const opts = optionsObject<BatchOptions>('options', options);
    if (opts.flip !== undefined && typeof opts.flip !== 'boolean') throw new ArgumentError(`options.flip: expected a boolean, got ${describe(opts.flip)}`);
    const refine = opts.refine === undefined ? 0 : integer('options.refine', opts.refine, 0, 10);
    const perm = this.metadata.flipPermutation;
    const flip = opts.flip ?? perm.length > 0;
    if (flip && perm.length === 0) {
      throw new UnsupportedError(`options.flip: the model ${this.source} has no flip permutation in its metadata`);
    }
    const faces: Array<{ raw: RawImage; box: Box; score?: number }> = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!item || typeof item !== 'object') throw new ArgumentError(`items[${i}]: expected { image, box }, got ${describe(item)}`);
      const raw = await decodeImage(imageInput(item.image));
      if (item.box === undefined) {
        const [best] = await detectFaces(raw);
        if (!best) throw new ValueRangeError(`items[${i}]: no face found in the image; pass its box ([x, y, width, height], --box x,y,w,h)`);
        faces.push({ raw, box: best.box, score: best.score });
      } else {
        faces.push({ raw, box: checkBox(item.box, raw, `items[${i}].box`) });
      }
    }
    let res = await this.runFaces(faces, flip);
    let boxes = faces.map((f) => f.box);
    for (let k = 0; k < refine; k++) {
      // A collapsed prediction (all points on a line) keeps its previous box.
      boxes = res.map((r, i) => {
        const b = landmarkBox(r.landmarks, `face ${i}'s predicted landmarks`);
        return b[2] > 0 && b[3] > 0 ? b : boxes[i];
      });
      res = await this.runFaces(faces.map((f, i) => ({ raw: f.raw, box: boxes[i] })), flip);
    }
    // The box reported is the one the caller (or the detector) gave; the crop's own is in `transform`.
    return res.map((r, i) => {
      const out: FacePrediction = { ...r, box: faces[i].box };
      if (faces[i].score !== undefined) out.score = faces[i].score;
      return out;
    });
  }

  /** One network run over the crops of `faces` (and their mirror images with `flip`). */
  private async runFaces(faces: Array<{ raw: RawImage; box: Box }>, flip: boolean): Promise<FacePrediction[]> {
    const size = this.inputSize;
    const per = size * size * 3;
    const n = faces.length;
    const perm = this.metadata.flipPermutation;
    const batch = new Float32Array((flip ? 2 * n : n) * per);
    const crops = faces.map((f, i) => {
      const out = batch.subarray(i * per, (i + 1) * per);
      const face = preprocessFaceSync(f.raw, { box: f.box, size, margin: this.metadata.cropMargin }, out);
      if (flip) mirror(out, size, batch.subarray((n + i) * per, (n + i + 1) * per));
      return face;
    });
    const y = await this.run(batch, flip ? 2 * n : n);
    const d = 2 * this.numLandmarks;
    return crops.map((c, i) => {
      const u = y.slice(i * d, (i + 1) * d);
      if (flip) {
        // The mirrored crop's prediction, mirrored back in crop pixels and re-ordered, averaged in.
        const px = new Float32Array(d);
        for (let k = 0; k < d; k++) px[k] = (y[(n + i) * d + k] + 0.5) * size;
        const back = flipLandmarks(px, perm, size);
        for (let k = 0; k < d; k++) u[k] = 0.5 * (u[k] + (back[k] / size - 0.5));
      }
      return { landmarks: landmarksToSource(u, c.inverse, size), normalized: u, box: faces[i].box, transform: c.transform };
    });
  }

  /** Frees onnxruntime's session. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}
