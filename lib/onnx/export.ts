/**
 * exportOnnx: a tfjs LayersModel (the networks this package builds) to an ONNX model, opset 13.
 * Input 'image' NHWC float32 [N, H, W, C] with a dynamic batch N, output 'landmarks' [N, 2L],
 * metadata that the Predictor and other consumers need (lib/onnx/metadata.ts).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import { validateFlipPermutation } from '../data/flip';
import { DEFAULT_MARGIN } from '../data/image';
import { PIXEL_OFFSET, PIXEL_SCALE } from '../data/types';
import { ArgumentError, IoError, ShapeError, UnsupportedError } from '../errors';
import { describe, integer, nonNegativeNumber, options as optionsObject } from '../validate';
import { GraphBuilder } from './graph';
import { LayerGraph, Value } from './layers';
import { formatMetadata, INPUT_NAME, OUTPUT_NAME } from './metadata';
import { DataType, encodeModel, GRAPH_DIGEST_KEY, graphDigest, IR_VERSION, OPSET_VERSION, type ModelInit, ValueInfoInit } from './proto';

export interface ExportOptions {
  /** L; defaults to half the output size (which must then be even). */
  numLandmarks?: number;
  /** Crop margin the model was trained with (lib/data/image.ts; default DEFAULT_MARGIN). */
  cropMargin?: number;
  /** Landmark permutation mirroring a face left-right (lib/data/flip.ts; enables test-time flip); default none. */
  flipPermutation?: number[];
  /** Training loss and data, free text for provenance (e.g. 'acr lambda=1 t=1', '300-W train'). */
  loss?: string;
  data?: string;
  /** Graph name and doc string. */
  name?: string;
  docString?: string;
  /**
   * Store the weights as float16, each Cast to float32 in the graph (onnxruntime folds the Casts
   * when it loads the model): half the file, outputs within ~1e-3 relative of float32. Default false.
   */
  float16Weights?: boolean;
}

const PACKAGE_VERSION: string = require('../../package.json').version;

function valueInfo(name: string, shape: Array<number | null>): ValueInfoInit {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: shape.map((d, i) => (d === null ? { dimParam: i === 0 ? 'batch' : `d${i}` } : { dimValue: d })) },
      },
    },
  };
}

function checkModel(model: unknown): tf.LayersModel {
  const m = model as tf.LayersModel;
  if (!m || typeof m !== 'object' || !Array.isArray(m.inputs) || !Array.isArray(m.outputs) || !Array.isArray(m.layers)) {
    throw new ArgumentError(`model: expected a tfjs LayersModel (tf.model / tf.sequential), got ${describe(model)}`);
  }
  if (m.inputs.length !== 1 || m.outputs.length !== 1) {
    throw new UnsupportedError(`model: expected one input and one output, got ${m.inputs.length} and ${m.outputs.length}`);
  }
  return m;
}

/** Builds the ONNX model bytes in memory. */
export function toOnnx(model: tf.LayersModel, options?: ExportOptions): Uint8Array {
  const m = checkModel(model);
  const opts = optionsObject<ExportOptions>('options', options);
  const input = m.inputs[0];
  const output = m.outputs[0];
  const [, h, w, c] = input.shape;
  if (input.shape.length !== 4 || typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number') {
    throw new ShapeError(`model: expected an input of shape [batch, H, W, C] with fixed H, W, C, got [${input.shape.join(', ')}]`);
  }
  if (output.shape.length !== 2 || typeof output.shape[1] !== 'number') {
    throw new ShapeError(`model: expected an output of shape [batch, 2L], got [${output.shape.join(', ')}]`);
  }
  const outDim = output.shape[1];
  const numLandmarks =
    opts.numLandmarks === undefined ? outDim / 2 : integer('options.numLandmarks', opts.numLandmarks, 1);
  if (!Number.isInteger(numLandmarks) || numLandmarks * 2 !== outDim) {
    throw new ShapeError(`options.numLandmarks: the model outputs ${outDim} values, which is not 2 x ${numLandmarks}`);
  }
  const flipPermutation =
    opts.flipPermutation === undefined || (Array.isArray(opts.flipPermutation) && opts.flipPermutation.length === 0)
      ? []
      : validateFlipPermutation(opts.flipPermutation, numLandmarks);
  const cropMargin = nonNegativeNumber('options.cropMargin', opts.cropMargin ?? DEFAULT_MARGIN);

  if (opts.float16Weights !== undefined && typeof opts.float16Weights !== 'boolean') {
    throw new ArgumentError(`options.float16Weights: expected a boolean, got ${describe(opts.float16Weights)}`);
  }
  const g = new GraphBuilder({ float16Weights: opts.float16Weights === true });
  g.unique(INPUT_NAME);
  g.unique(OUTPUT_NAME);
  const inputValue: Value = { name: INPUT_NAME, layout: 'nhwc', shape: input.shape };
  const walker = new LayerGraph(g, [output], [[input, inputValue]]);
  const last = walker.toNHWC(walker.value(output));
  g.nodes.push({ name: OUTPUT_NAME, opType: 'Identity', input: [last.name], output: [OUTPUT_NAME] });

  const proto: ModelInit = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: 'acr-loss',
    producerVersion: PACKAGE_VERSION,
    docString: opts.docString ?? '',
    graph: {
      name: opts.name ?? m.name ?? 'landmarks',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(INPUT_NAME, [null, h, w, c])],
      output: [valueInfo(OUTPUT_NAME, [null, outDim])],
    },
    metadataProps: formatMetadata({
      numLandmarks,
      inputHeight: h,
      inputWidth: w,
      pixelScale: PIXEL_SCALE,
      pixelOffset: PIXEL_OFFSET,
      cropMargin,
      flipPermutation,
      loss: String(opts.loss ?? ''),
      data: String(opts.data ?? ''),
      packageVersion: PACKAGE_VERSION,
    }),
  };
  // The graph encodes the same both times; its digest goes into the metadata (checked by Predictor.load).
  const digest = graphDigest(encodeModel(proto));
  return encodeModel({ ...proto, metadataProps: [...proto.metadataProps, { key: GRAPH_DIGEST_KEY, value: digest }] });
}

/** Writes the model to `file` (directories are created). Returns the number of bytes written. */
export async function exportOnnx(model: tf.LayersModel, file: string, options?: ExportOptions): Promise<number> {
  if (typeof file !== 'string' || file === '') throw new ArgumentError(`file: expected a path, got ${describe(file)}`);
  const bytes = toOnnx(model, options);
  try {
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await fs.writeFile(file, bytes);
  } catch (err) {
    throw new IoError(`file: cannot write ${file}: ${(err as Error).message}`, err);
  }
  return bytes.length;
}
