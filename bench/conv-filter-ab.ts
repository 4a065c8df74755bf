/**
 * The 1x1 convolution's filter gradient (Conv2DBackpropFilter) of two addon builds, alternating
 * in one process: CPU time per call (median of 9 rounds of 3 calls), GFLOP/s, their ratio and
 * the largest difference of the results relative to the largest value.
 *   node --import tsx bench/conv-filter-ab.ts OLD.node [NEW.node]   (NEW: this checkout's build)
 * Environment: BATCH (default 32), SHAPES (JSON [[side, in channels, out channels], ...]),
 * ACR_NUM_THREADS. The default shapes are MobileNetV2 x0.5-1.0's at 56-224 px.
 */
import * as path from 'path';
import { createRequire } from 'module';
import { median } from './stats';

type Addon = { nnConv2dBackpropFilter(x: Float32Array, dy: Float32Array, df: Float32Array, geometry: number[]): void };
const [oldPath, newPath = 'build/Release/acr_native.node'] = process.argv.slice(2);
if (!oldPath) {
  console.error('usage: node --import tsx bench/conv-filter-ab.ts OLD.node [NEW.node]');
  process.exit(2);
}
const req = createRequire(__filename);
const A = req(path.resolve(oldPath)) as Addon, B = req(path.resolve(newPath)) as Addon;
const shapes: Array<[number, number, number]> = (process.env.SHAPES ? JSON.parse(process.env.SHAPES) : [[56, 16, 8], [56, 8, 48], [28, 16, 96], [28, 96, 16], [28, 48, 16], [14, 96, 16], [14, 16, 96], [7, 48, 288], [7, 32, 192], [7, 192, 32], [7, 96, 32], [4, 80, 480], [56, 32, 16], [56, 16, 96], [28, 24, 144], [28,144,24], [112, 32, 16]]);
const N = Number(process.env.BATCH ?? 32);
for (const [H, C, OC] of shapes) {
  const g = [N, H, H, C, H, H, OC, 1, 1, 1, 1, 1, 1, 0, 0];
  const x = new Float32Array(N * H * H * C).map(() => Math.random() - 0.5), dy = new Float32Array(N * H * H * OC).map(() => Math.random() - 0.5);
  const fa = new Float32Array(C * OC), fb = new Float32Array(C * OC);
  const ta: number[] = [], tb: number[] = [];
  const once = (m: Addon, f: Float32Array) => { const c0 = process.cpuUsage(); for (let i = 0; i < 3; i++) m.nnConv2dBackpropFilter(x, dy, f, g); const c = process.cpuUsage(c0); return (c.user + c.system) / 3000; };
  once(A, fa); once(B, fb);
  for (let r = 0; r < 9; r++) { ta.push(once(A, fa)); tb.push(once(B, fb)); }
  let maxd = 0, maxv = 0; for (let i = 0; i < fa.length; i++) { maxd = Math.max(maxd, Math.abs(fa[i] - fb[i])); maxv = Math.max(maxv, Math.abs(fa[i])); }
  const gf = 2 * N * H * H * C * OC / 1e6;
  console.log(`${H}x${H} ${C}->${OC}: old ${median(ta).toFixed(3)} ms (${(gf / median(ta)).toFixed(0)} GF/s) new ${median(tb).toFixed(3)} ms (${(gf / median(tb)).toFixed(0)} GF/s) ratio ${(median(tb) / median(ta)).toFixed(2)}  maxdiff ${(maxd / maxv).toExponential(1)}`);
}
