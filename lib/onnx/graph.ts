/**
 * A small builder for an ONNX graph: unique value names, float and int64 initializers, nodes with
 * typed attributes. It knows nothing about tfjs; lib/onnx/layers.ts drives it.
 */
import { toFloat16 } from '../float16';
import { AttributeInit, AttributeType, DataType, NodeInit, TensorInit } from './proto';

/** An attribute value: a plain number is an INT attribute, `{ f }` a FLOAT one. */
export type AttrValue = number | number[] | string | { f: number };

function attribute(name: string, v: AttrValue): AttributeInit {
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: Buffer.from(v, 'utf8') };
  if (typeof v === 'number') return { name, type: AttributeType.INT, i: v };
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
  return { name, type: AttributeType.FLOAT, f: v.f };
}

export class GraphBuilder {
  readonly nodes: NodeInit[] = [];
  readonly initializers: TensorInit[] = [];
  private readonly used = new Set<string>();
  private readonly scalars = new Map<string, string>();

  /** float16Weights: weights are stored as float16 and Cast to float32 (computed once, when onnxruntime loads the model). */
  constructor(private readonly options: { float16Weights?: boolean } = {}) {}

  /** A value name not used before, derived from `base`. */
  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  /** A float32 constant; the bytes are copied (little-endian, as ONNX raw_data requires). */
  floatConst(base: string, dims: number[], data: Float32Array | Float64Array | number[]): string {
    const f32 = Float32Array.from(data);
    const name = this.unique(base);
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(f32.buffer) });
    return name;
  }

  /** A layer's weights: float32, or float16 + a Cast to float32 where the builder stores weights at half size. */
  weightConst(base: string, dims: number[], data: Float32Array | Float64Array | number[]): string {
    if (!this.options.float16Weights) return this.floatConst(base, dims, data);
    const half = toFloat16(data);
    const stored = this.unique(`${base}_f16`);
    this.initializers.push({ name: stored, dims, dataType: DataType.FLOAT16, rawData: new Uint8Array(half.buffer) });
    return this.node('Cast', [stored], base, { to: DataType.FLOAT });
  }

  int64Const(base: string, data: number[]): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims: [data.length], dataType: DataType.INT64, int64Data: data });
    return name;
  }

  /** A shared float scalar constant (Clip bounds and the like). */
  scalar(v: number): string {
    const key = String(v);
    let name = this.scalars.get(key);
    if (!name) {
      name = this.floatConst(`const_${key}`, [], [v]);
      this.scalars.set(key, name);
    }
    return name;
  }

  /** Adds a node with one output and returns that output's name. */
  node(opType: string, inputs: string[], base: string, attrs: Record<string, AttrValue> = {}): string {
    const output = this.unique(base);
    const attribute_ = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push({ name: output, opType, input: inputs, output: [output], attribute: attribute_ });
    return output;
  }
}
