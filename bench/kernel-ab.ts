/**
 * One family of native convolution kernels from two addon builds, alternating in one process:
 * CPU time per call (median of 9 rounds of 3 calls), GFLOP/s, their ratio (NEW / OLD) and the
 * largest difference of the results relative to the largest value (0 where the change keeps
 * the bits). Run it with ACR_NUM_THREADS=1 to compare kernels rather than thread scheduling.
 *
 *   node --import tsx bench/kernel-ab.ts FAMILY OLD.node [NEW.node]   (NEW: this checkout's build)
 *
 * FAMILY: filter1x1 (the 1x1 filter gradient), pointwise (1x1 forward and input gradient),
 * stem (3x3 stride-2 convolution of 3 channels: forward and filter gradient), depthwise (3x3,
 * multiplier 1: forward, input and filter gradients). The shapes are MobileNetV2 x0.5-1.0's at
 * 112-224 px. Environment: BATCH (default 32), ACR_NUM_THREADS.
 */
import * as path from 'path';
import { createRequire } from 'module';
import { median } from './stats';

type Addon = Record<string, (...args: unknown[]) => void>;
type Geometry = number[]; // [N, H, W, C, OH, OW, OC, KH, KW, sh, sw, dh, dw, pt, pl]
/** One kernel call: which binding, its arguments built from the tensors, what it writes. */
interface Op { name: string; call: (m: Addon, out: Float32Array) => void; outLength: number; flops: number }

const [family, oldPath, newPath = 'build/Release/acr_native.node'] = process.argv.slice(2);
const N = Number(process.env.BATCH ?? 32);
const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);

function geometry(H: number, C: number, OC: number, k: number, stride: number, pad: number): Geometry {
  const OH = Math.ceil(H / stride);
  return [N, H, H, C, OH, OH, OC, k, k, stride, stride, 1, 1, pad, pad];
}

/** The ops of one shape: tensors shared by both builds, so their outputs compare. */
function ops(g: Geometry, depthwise: boolean, kinds: string[]): Op[] {
  const [n, H, W, C, OH, OW, OC, KH, KW] = g;
  const x = random(n * H * W * C), dy = random(n * OH * OW * OC);
  const f = random(KH * KW * (depthwise ? OC : C * OC));
  const macs = n * OH * OW * OC * KH * KW * (depthwise ? 1 : C);
  const all: Record<string, Op> = {
    forward: { name: 'forward', outLength: dy.length, flops: 2 * macs,
      call: (m, out) => m[depthwise ? 'nnDepthwise' : 'nnConv2d'](x, f, null, out, g, 0, 0) },
    input: { name: 'input gradient', outLength: x.length, flops: 2 * macs,
      call: (m, out) => m[depthwise ? 'nnDepthwiseBackpropInput' : 'nnConv2dBackpropInput'](dy, f, out, g) },
    filter: { name: 'filter gradient', outLength: f.length, flops: 2 * macs,
      call: (m, out) => m[depthwise ? 'nnDepthwiseBackpropFilter' : 'nnConv2dBackpropFilter'](x, dy, out, g) },
  };
  return kinds.map((k) => all[k]);
}

const pointwiseShapes = [[56, 16, 8], [56, 8, 48], [28, 16, 96], [28, 96, 16], [14, 16, 96], [14, 96, 16], [7, 96, 32],
  [56, 32, 16], [56, 16, 96], [56, 96, 16], [28, 24, 144], [28, 144, 24], [112, 16, 96], [112, 96, 16]];
const FAMILIES: Record<string, Array<{ label: string; g: Geometry; depthwise: boolean; kinds: string[] }>> = {
  filter1x1: pointwiseShapes.map(([H, C, OC]) => ({ label: `1x1 ${H}x${H} ${C}->${OC}`, g: geometry(H, C, OC, 1, 1, 0), depthwise: false, kinds: ['filter'] })),
  pointwise: pointwiseShapes.map(([H, C, OC]) => ({ label: `1x1 ${H}x${H} ${C}->${OC}`, g: geometry(H, C, OC, 1, 1, 0), depthwise: false, kinds: ['forward', 'input'] })),
  // tfjs 'same' padding at stride 2 on an even side puts the extra row and column at the end: pt = pl = 0.
  stem: [[112, 16], [128, 32], [160, 32], [224, 32]].map(([H, OC]) => ({ label: `stem ${H}x${H} 3->${OC}`, g: geometry(H, 3, OC, 3, 2, 0), depthwise: false, kinds: ['forward', 'filter'] })),
  depthwise: [[56, 48, 1], [56, 48, 2], [28, 96, 1], [14, 192, 1], [7, 480, 1], [28, 24, 1], [112, 96, 2]].map(([H, C, s]) => ({
    label: `dw ${H}x${H}x${C} s${s}`, g: geometry(H, C, C, 3, s, s === 1 ? 1 : 0), depthwise: true, kinds: ['forward', 'input', 'filter'],
  })),
};

if (!FAMILIES[family] || !oldPath) {
  console.error(`usage: node --import tsx bench/kernel-ab.ts ${Object.keys(FAMILIES).join('|')} OLD.node [NEW.node]`);
  process.exit(2);
}
const req = createRequire(__filename);
const A = req(path.resolve(oldPath)) as Addon, B = req(path.resolve(newPath)) as Addon;
const cpuMs = (fn: () => void) => {
  const c0 = process.cpuUsage();
  for (let i = 0; i < 3; i++) fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 3000;
};
for (const { label, g, depthwise, kinds } of FAMILIES[family]) {
  for (const op of ops(g, depthwise, kinds)) {
    const oa = new Float32Array(op.outLength), ob = new Float32Array(op.outLength);
    const ta: number[] = [], tb: number[] = [];
    op.call(A, oa);
    op.call(B, ob);
    for (let r = 0; r < 9; r++) {
      ta.push(cpuMs(() => op.call(A, oa)));
      tb.push(cpuMs(() => op.call(B, ob)));
    }
    let maxd = 0, maxv = 0;
    for (let i = 0; i < oa.length; i++) {
      maxd = Math.max(maxd, Math.abs(oa[i] - ob[i]));
      maxv = Math.max(maxv, Math.abs(oa[i]));
    }
    const a = median(ta), b = median(tb), gf = op.flops / 1e6;
    console.log(`${label} ${op.name}: old ${a.toFixed(3)} ms (${(gf / a).toFixed(0)} GF/s) new ${b.toFixed(3)} ms ` +
      `(${(gf / b).toFixed(0)} GF/s) ratio ${(b / a).toFixed(2)}  maxdiff ${(maxd / Math.max(maxv, 1e-30)).toExponential(1)}`);
  }
}
