/**
 * Translates a tfjs LayersModel's layer graph into ONNX nodes.
 *
 * tfjs works in NHWC; ONNX convolutions and pools want NCHW. Every value carries its layout and
 * is transposed only where an op needs the other one (once per value, cached), so a conv net
 * pays one Transpose at the input. Batch norm after a convolution is folded into the
 * convolution's weights, and a ZeroPadding2D in front of a 'valid' convolution into its pads.
 */
import type * as tf from '@tensorflow/tfjs';
import { UnsupportedError } from '../errors';
import { GraphBuilder } from './graph';

type Layer = tf.layers.Layer;
type SymbolicTensor = tf.SymbolicTensor;
type Shape = Array<number | null>;

/** 'nchw' and 'nhwc' are rank-4 values; 'plain' is any other rank, in tfjs's own axis order. */
export type Layout = 'nchw' | 'nhwc' | 'plain';

export interface Value {
  name: string;
  layout: Layout;
  /** The tfjs (channels-last) shape, batch first. */
  shape: Shape;
}

type Config = Record<string, unknown>;

const IDENTITY_LAYERS = new Set(['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

function describeLayer(layer: Layer): string {
  return `layer '${layer.name}' (${layer.getClassName()})`;
}

function unsupported(layer: Layer, why: string): UnsupportedError {
  return new UnsupportedError(`exportOnnx: ${describeLayer(layer)}: ${why}`);
}

function pair(v: unknown): [number, number] {
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return [a[0], a.length > 1 ? a[1] : a[0]];
}

/** TensorFlow's 'same' padding along one axis: output ceil(in / stride), extra pixel at the end. */
export function samePadding(inSize: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function weightsOf(layer: Layer): Float32Array[] {
  return layer.getWeights().map((w) => w.dataSync() as Float32Array);
}

function channelsLast(layer: Layer, cfg: Config): void {
  if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') {
    throw unsupported(layer, `dataFormat '${String(cfg.dataFormat)}' (only channelsLast is exported)`);
  }
}

/** Per-channel y = x * scale + shift of an inference-mode BatchNormalization, in float64. */
function batchNormAffine(layer: Layer): { scale: Float64Array; shift: Float64Array } {
  const cfg = layer.getConfig();
  const w = weightsOf(layer);
  let k = 0;
  const gamma = cfg.scale !== false ? w[k++] : undefined;
  const beta = cfg.center !== false ? w[k++] : undefined;
  const mean = w[k++];
  const variance = w[k++];
  const eps = Number(cfg.epsilon ?? 1e-3);
  const c = mean.length;
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + eps);
    shift[i] = (beta ? beta[i] : 0) - mean[i] * scale[i];
  }
  return { scale, shift };
}

export class LayerGraph {
  private readonly memo = new Map<number, Value>();
  private readonly consumers = new Map<number, number>();
  private readonly transposed = new Map<string, Value>();

  constructor(
    private readonly g: GraphBuilder,
    outputs: SymbolicTensor[],
    inputs: Array<[SymbolicTensor, Value]>,
  ) {
    for (const [st, v] of inputs) this.memo.set(st.id, v);
    const seen = new Set<number>();
    const stack = [...outputs];
    for (const o of outputs) this.consumers.set(o.id, (this.consumers.get(o.id) ?? 0) + 1);
    while (stack.length) {
      const st = stack.pop()!;
      if (seen.has(st.id)) continue;
      seen.add(st.id);
      for (const i of st.inputs ?? []) {
        this.consumers.set(i.id, (this.consumers.get(i.id) ?? 0) + 1);
        stack.push(i);
      }
    }
  }

  /** The ONNX value of a symbolic tensor, emitting the nodes it depends on first. */
  value(st: SymbolicTensor): Value {
    let v = this.memo.get(st.id);
    if (!v) {
      v = this.emit(st);
      this.memo.set(st.id, v);
    }
    return v;
  }

  toNCHW(v: Value): Value {
    return v.layout === 'nhwc' ? this.transpose(v, 'nchw', [0, 3, 1, 2]) : v;
  }

  toNHWC(v: Value): Value {
    return v.layout === 'nchw' ? this.transpose(v, 'nhwc', [0, 2, 3, 1]) : v;
  }

  private transpose(v: Value, layout: Layout, perm: number[]): Value {
    const key = `${v.name}>${layout}`;
    let t = this.transposed.get(key);
    if (!t) {
      t = { name: this.g.node('Transpose', [v.name], `${v.name}_${layout}`, { perm }), layout, shape: v.shape };
      this.transposed.set(key, t);
    }
    return t;
  }

  private soleConsumer(st: SymbolicTensor): boolean {
    return this.consumers.get(st.id) === 1;
  }

  private emit(st: SymbolicTensor): Value {
    const layer = st.sourceLayer as Layer;
    const cls = layer.getClassName();
    const cfg = layer.getConfig();
    const ins = st.inputs ?? [];
    if (IDENTITY_LAYERS.has(cls)) return { ...this.value(ins[0]), shape: st.shape };
    switch (cls) {
      case 'Conv2D':
      case 'DepthwiseConv2D':
        return this.conv(st);
      case 'BatchNormalization': {
        const src = ins[0];
        const srcCls = src.sourceLayer.getClassName();
        const convAct = src.sourceLayer.getConfig().activation;
        if ((srcCls === 'Conv2D' || srcCls === 'DepthwiseConv2D') && convAct === 'linear' && this.soleConsumer(src)) {
          this.checkBatchNormAxis(layer, cfg, src.shape.length);
          return { ...this.conv(src, layer), shape: st.shape };
        }
        return this.batchNorm(st);
      }
      case 'Activation':
        return this.activation(this.value(ins[0]), String(cfg.activation), layer);
      case 'ReLU': {
        const x = this.value(ins[0]);
        if (cfg.maxValue === null || cfg.maxValue === undefined) return this.activation(x, 'relu', layer);
        const max = Number(cfg.maxValue);
        return { ...x, name: this.g.node('Clip', [x.name, this.g.scalar(0), this.g.scalar(max)], layer.name) };
      }
      case 'LeakyReLU': {
        const x = this.value(ins[0]);
        return { ...x, name: this.g.node('LeakyRelu', [x.name], layer.name, { alpha: { f: Number(cfg.alpha ?? 0.3) } }) };
      }
      case 'Add':
      case 'Multiply':
      case 'Maximum':
      case 'Minimum':
      case 'Average':
        return this.merge(st, cls);
      case 'Concatenate':
        return this.concatenate(st, cfg);
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        channelsLast(layer, cfg);
        const x = this.toNCHW(this.value(ins[0]));
        const op = cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool';
        const pooled = this.g.node(op, [x.name], `${layer.name}_pool`);
        return { name: this.g.node('Flatten', [pooled], layer.name, { axis: 1 }), layout: 'plain', shape: st.shape };
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D':
        return this.pool(st, cls, cfg);
      case 'ZeroPadding2D': {
        channelsLast(layer, cfg);
        const x = this.toNCHW(this.value(ins[0]));
        const [[top, bottom], [left, right]] = cfg.padding as [[number, number], [number, number]];
        const pads = this.g.int64Const(`${layer.name}_pads`, [0, 0, top, left, 0, 0, bottom, right]);
        return { name: this.g.node('Pad', [x.name, pads], layer.name, { mode: 'constant' }), layout: 'nchw', shape: st.shape };
      }
      case 'Flatten': {
        const x = this.toNHWC(this.value(ins[0]));
        if (x.shape.length === 2) return x;
        return { name: this.g.node('Flatten', [x.name], layer.name, { axis: 1 }), layout: 'plain', shape: st.shape };
      }
      case 'Dense':
        return this.dense(st, cfg);
      default:
        throw new UnsupportedError(
          `exportOnnx: ${describeLayer(layer)} is not supported by the ONNX exporter ` +
            '(supported: Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, LeakyReLU, Activation, Add, ' +
            'Multiply, Average, Maximum, Minimum, Concatenate, GlobalAveragePooling2D, GlobalMaxPooling2D, ' +
            'MaxPooling2D, AveragePooling2D, ZeroPadding2D, Flatten, Dense, Dropout)',
        );
    }
  }

  private checkBatchNormAxis(layer: Layer, cfg: Config, rank: number): void {
    const axis = Number(cfg.axis ?? -1);
    if (axis !== -1 && axis !== rank - 1) throw unsupported(layer, `axis ${axis} (only the channel axis, -1, is exported)`);
  }

  /** Conv2D or DepthwiseConv2D, optionally with a following BatchNormalization folded in. */
  private conv(st: SymbolicTensor, bn?: Layer): Value {
    const layer = st.sourceLayer as Layer;
    const cfg = layer.getConfig();
    channelsLast(layer, cfg);
    const depthwise = layer.getClassName() === 'DepthwiseConv2D';
    let src = st.inputs[0];
    const [kh, kw] = pair(cfg.kernelSize);
    const [sh, sw] = pair(cfg.strides ?? 1);
    const [dh, dw] = pair(cfg.dilationRate ?? 1);
    // pads: [top, left, bottom, right]
    const pads = [0, 0, 0, 0];
    if (cfg.padding === 'same') {
      const [, h, w] = src.shape;
      if (typeof h !== 'number' || typeof w !== 'number') throw unsupported(layer, "'same' padding needs a fixed input size");
      const [top, bottom] = samePadding(h, kh, sh, dh);
      const [left, right] = samePadding(w, kw, sw, dw);
      pads.splice(0, 4, top, left, bottom, right);
    } else if (cfg.padding !== 'valid') {
      throw unsupported(layer, `padding '${String(cfg.padding)}'`);
    } else if (src.sourceLayer.getClassName() === 'ZeroPadding2D' && this.soleConsumer(src)) {
      const pcfg = src.sourceLayer.getConfig();
      channelsLast(src.sourceLayer as Layer, pcfg);
      const [[top, bottom], [left, right]] = pcfg.padding as [[number, number], [number, number]];
      pads.splice(0, 4, top, left, bottom, right);
      src = src.inputs[0];
    }
    const x = this.toNCHW(this.value(src));

    const [kernel, bias] = weightsOf(layer);
    const cin = Number(src.shape[3]);
    const mult = depthwise ? Number(cfg.depthMultiplier ?? 1) : 0;
    const cout = depthwise ? cin * mult : Number(cfg.filters);
    const cinPerGroup = depthwise ? 1 : cin;
    // tfjs kernels are [kh, kw, cin, cout] (depthwise: [kh, kw, cin, mult], out channel c * mult + m);
    // ONNX wants [cout, cin / group, kh, kw].
    const w = new Float64Array(cout * cinPerGroup * kh * kw);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        for (let c = 0; c < cin; c++) {
          if (depthwise) {
            for (let m = 0; m < mult; m++) {
              w[((c * mult + m) * kh + i) * kw + j] = kernel[((i * kw + j) * cin + c) * mult + m];
            }
          } else {
            for (let o = 0; o < cout; o++) {
              w[((o * cin + c) * kh + i) * kw + j] = kernel[((i * kw + j) * cin + c) * cout + o];
            }
          }
        }
      }
    }
    const b = new Float64Array(cout);
    if (cfg.useBias !== false && bias) b.set(bias);
    if (bn) {
      const { scale, shift } = batchNormAffine(bn);
      const per = cinPerGroup * kh * kw;
      for (let o = 0; o < cout; o++) {
        for (let k = 0; k < per; k++) w[o * per + k] *= scale[o];
        b[o] = b[o] * scale[o] + shift[o];
      }
    }
    const name = bn ? bn.name : layer.name;
    const wName = this.g.weightConst(`${name}_W`, [cout, cinPerGroup, kh, kw], w);
    const bName = this.g.weightConst(`${name}_B`, [cout], b);
    const out = this.g.node('Conv', [x.name, wName, bName], name, {
      kernel_shape: [kh, kw],
      strides: [sh, sw],
      dilations: [dh, dw],
      pads,
      group: depthwise ? cin : 1,
    });
    const v: Value = { name: out, layout: 'nchw', shape: st.shape };
    return bn ? v : this.activation(v, String(cfg.activation ?? 'linear'), layer);
  }

  private batchNorm(st: SymbolicTensor): Value {
    const layer = st.sourceLayer as Layer;
    const x = this.value(st.inputs[0]);
    this.checkBatchNormAxis(layer, layer.getConfig(), x.shape.length);
    const { scale, shift } = batchNormAffine(layer);
    const dims = x.layout === 'nchw' ? [scale.length, 1, 1] : [scale.length];
    const mul = this.g.node('Mul', [x.name, this.g.weightConst(`${layer.name}_scale`, dims, scale)], `${layer.name}_mul`);
    const add = this.g.node('Add', [mul, this.g.weightConst(`${layer.name}_shift`, dims, shift)], layer.name);
    return { name: add, layout: x.layout, shape: st.shape };
  }

  private activation(x: Value, act: string, layer: Layer): Value {
    const g = this.g;
    const base = layer.name + (act === 'linear' ? '' : `_${act}`);
    const unary = (op: string, attrs = {}): Value => ({ ...x, name: g.node(op, [x.name], base, attrs) });
    switch (act) {
      case 'linear':
        return x;
      case 'relu':
        return unary('Relu');
      case 'relu6':
        return { ...x, name: g.node('Clip', [x.name, g.scalar(0), g.scalar(6)], base) };
      case 'sigmoid':
        return unary('Sigmoid');
      case 'tanh':
        return unary('Tanh');
      case 'elu':
        return unary('Elu', { alpha: { f: 1 } });
      case 'selu':
        return unary('Selu');
      case 'softplus':
        return unary('Softplus');
      case 'softsign':
        return unary('Softsign');
      case 'hardSigmoid':
        return unary('HardSigmoid', { alpha: { f: 0.2 }, beta: { f: 0.5 } });
      case 'swish': {
        const s = g.node('Sigmoid', [x.name], `${base}_sigmoid`);
        return { ...x, name: g.node('Mul', [x.name, s], base) };
      }
      case 'softmax': {
        const y = x.layout === 'nchw' ? this.toNHWC(x) : x;
        return { ...y, name: g.node('Softmax', [y.name], base, { axis: -1 }) };
      }
      default:
        throw unsupported(layer, `activation '${act}' is not supported by the ONNX exporter`);
    }
  }

  /** Inputs of a multi-input layer, all in one layout (NCHW when they are rank 4). */
  private aligned(st: SymbolicTensor): Value[] {
    const vals = st.inputs.map((i) => this.value(i));
    if (new Set(vals.map((v) => v.shape.length)).size > 1) {
      throw unsupported(st.sourceLayer as Layer, 'inputs of different ranks');
    }
    return vals.map((v) => this.toNCHW(v));
  }

  private merge(st: SymbolicTensor, cls: string): Value {
    const layer = st.sourceLayer as Layer;
    const vals = this.aligned(st);
    const names = vals.map((v) => v.name);
    const layout = vals[0].layout;
    const chain = (op: string): string => {
      let acc = names[0];
      for (let i = 1; i < names.length; i++) acc = this.g.node(op, [acc, names[i]], layer.name);
      return acc;
    };
    let out: string;
    switch (cls) {
      case 'Add':
        out = chain('Add');
        break;
      case 'Multiply':
        out = chain('Mul');
        break;
      case 'Maximum':
        out = this.g.node('Max', names, layer.name);
        break;
      case 'Minimum':
        out = this.g.node('Min', names, layer.name);
        break;
      default: {
        const sum = this.g.node('Sum', names, `${layer.name}_sum`);
        out = this.g.node('Mul', [sum, this.g.scalar(1 / names.length)], layer.name);
      }
    }
    return { name: out, layout, shape: st.shape };
  }

  private concatenate(st: SymbolicTensor, cfg: Config): Value {
    const vals = this.aligned(st);
    const rank = st.shape.length;
    let axis = Number(cfg.axis ?? -1);
    if (axis < 0) axis += rank;
    // NCHW axis j holds NHWC axis perm[j] with perm = [0, 3, 1, 2].
    if (vals[0].layout === 'nchw') axis = [0, 3, 1, 2].indexOf(axis);
    const out = this.g.node('Concat', vals.map((v) => v.name), st.sourceLayer.name, { axis });
    return { name: out, layout: vals[0].layout, shape: st.shape };
  }

  private pool(st: SymbolicTensor, cls: string, cfg: Config): Value {
    const layer = st.sourceLayer as Layer;
    channelsLast(layer, cfg);
    const src = st.inputs[0];
    const [kh, kw] = pair(cfg.poolSize);
    const [sh, sw] = pair(cfg.strides ?? cfg.poolSize);
    let pads = [0, 0, 0, 0];
    if (cfg.padding === 'same') {
      const [, h, w] = src.shape;
      if (typeof h !== 'number' || typeof w !== 'number') throw unsupported(layer, "'same' padding needs a fixed input size");
      const [top, bottom] = samePadding(h, kh, sh, 1);
      const [left, right] = samePadding(w, kw, sw, 1);
      pads = [top, left, bottom, right];
    }
    const x = this.toNCHW(this.value(src));
    const attrs: Record<string, number | number[]> = { kernel_shape: [kh, kw], strides: [sh, sw], pads };
    // TensorFlow averages over the real pixels only, as ONNX does with count_include_pad = 0.
    if (cls === 'AveragePooling2D') attrs.count_include_pad = 0;
    const op = cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool';
    return { name: this.g.node(op, [x.name], layer.name, attrs), layout: 'nchw', shape: st.shape };
  }

  private dense(st: SymbolicTensor, cfg: Config): Value {
    const layer = st.sourceLayer as Layer;
    const x = this.toNHWC(this.value(st.inputs[0]));
    const [kernel, bias] = weightsOf(layer);
    const units = Number(cfg.units);
    const inDim = kernel.length / units;
    const wName = this.g.weightConst(`${layer.name}_W`, [inDim, units], kernel);
    const bName = this.g.weightConst(`${layer.name}_B`, [units], cfg.useBias !== false && bias ? bias : new Float32Array(units));
    let out: string;
    if (x.shape.length === 2) {
      out = this.g.node('Gemm', [x.name, wName, bName], layer.name);
    } else {
      // Dense on a higher-rank tensor acts on the last axis: MatMul broadcasts over the rest.
      const mm = this.g.node('MatMul', [x.name, wName], `${layer.name}_matmul`);
      out = this.g.node('Add', [mm, bName], layer.name);
    }
    const layout: Layout = x.shape.length === 4 ? 'nhwc' : 'plain';
    return this.activation({ name: out, layout, shape: st.shape }, String(cfg.activation ?? 'linear'), layer);
  }
}
