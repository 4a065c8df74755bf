/**
 * ACR loss + gradient for B x 136 (B = 32, 256, 4096, 65536): the native kernel (each ISA the
 * CPU has), the same loss written with tfjs ops on the cpu and wasm backends (value and
 * gradient via tf.valueAndGrad), and vectorised numpy (when python3 + numpy exist). Medians of
 * several runs, million coordinates per second, ratios to native; plus this machine's memory
 * bandwidth (the addon's threaded copy and read kernels) against the bytes native moves at
 * B = 65536. Run: node --import tsx bench/loss.ts   (writes loss.json to <tmp>/acr-loss-bench, or bench/results/ with --update-results)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { info, setIsa } from '../lib/info';
import { acrLossComposite } from '../lib/loss';
import { acrLossAndGrad, bandwidthCopy, bandwidthRead } from '../lib/kernels/loss';
import { resultsFile } from './results-file';
import { median } from './stats';

tf.enableProdMode();
const D = 136;
const SIZES = [32, 256, 4096, 65536];
const QUICK = process.env.ACR_BENCH_QUICK === '1';

/** CPU seconds (all threads of this process) per call in the last time() measurement. */
let lastCpuPerCall = 0;

/** Median seconds per call: each run repeats fn for about `target` seconds. */
async function time(fn: () => unknown, runs: number, target: number): Promise<number> {
  fn();
  const t0 = performance.now();
  fn();
  const once = (performance.now() - t0) / 1000;
  const reps = Math.max(1, Math.round(target / Math.max(once, 1e-7)));
  const out: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < runs; r++) {
    const s = performance.now();
    for (let i = 0; i < reps; i++) fn();
    out.push((performance.now() - s) / 1000 / reps);
  }
  const cpu = process.cpuUsage(cpu0);
  lastCpuPerCall = (cpu.user + cpu.system) / 1e6 / (runs * reps);
  return median(out);
}

function fixture(B: number) {
  const n = B * D;
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const gt = Float32Array.from({ length: n }, () => rnd() - 0.5);
  const pred = Float32Array.from(gt, (g) => g + (rnd() - 0.5) * 0.4);
  const phi = Float32Array.from({ length: n }, () => rnd());
  return { pred, gt, phi };
}

function numpy(): Record<string, number> | null {
  try {
    const outText = execFileSync('python3', [path.join(__dirname, 'loss_numpy.py'), SIZES.join(','), String(D)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 600_000,
    });
    return JSON.parse(outText);
  } catch {
    return null;
  }
}

async function main() {
  const inf = info();
  const isas = (['scalar', 'avx2', 'avx512'] as const).filter((i) => ['scalar', 'avx2', 'avx512'].indexOf(i) <= ['scalar', 'avx2', 'avx512'].indexOf(inf.isaDetected));
  const rows: Record<string, Record<string, number>> = {}; // method -> B -> seconds
  const cpuNs: Record<string, Record<string, number>> = {}; // native method -> B -> CPU ns per element
  const put = (m: string, B: number, s: number) => ((rows[m] ??= {})[B] = s);

  for (const B of SIZES) {
    const { pred, gt, phi } = fixture(B);
    const grad = new Float32Array(B * D);
    for (const isa of isas) {
      setIsa(isa);
      const run = () => acrLossAndGrad(pred, gt, phi, { dim: D, device: 'cpu', out: { grad } });
      put(`native ${isa}`, B, await time(run, QUICK ? 3 : 7, 0.2));
      (cpuNs[`native ${isa}`] ??= {})[B] = (lastCpuPerCall / (B * D)) * 1e9;
    }
    setIsa('avx512');
    if (inf.gpuCount > 0) {
      // Host arrays in and out over PCIe on every call, as the tfjs cpu/wasm backends would need.
      const run = () => acrLossAndGrad(pred, gt, phi, { dim: D, device: 'cuda', out: { grad } });
      put('native cuda +copies', B, await time(run, QUICK ? 3 : 7, 0.2));
    }
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const yt = tf.tensor2d(gt, [B, D]);
      const yp = tf.tensor2d(pred, [B, D]);
      const ph = tf.tensor2d(phi, [B, D]);
      const vg = tf.valueAndGrad((p: tf.Tensor) => acrLossComposite(yt, p, ph) as tf.Scalar);
      const step = () => {
        const { value, grad: g } = vg(yp);
        g.dataSync();
        value.dataSync();
        tf.dispose([value, g]);
      };
      const big = B >= 65536;
      put(`tfjs-ops ${backend}`, B, await time(step, big || QUICK ? 3 : 5, big ? 0.01 : 0.3));
      tf.dispose([yt, yp, ph]);
    }
  }
  const np = numpy();
  if (np) for (const B of SIZES) put(`numpy ${np.numpy}`, B, np[String(B)]);

  // Memory bandwidth: 64 Mi floats (256 MiB) per buffer, far beyond the caches.
  const N = QUICK ? 16 << 20 : 64 << 20;
  const src = new Float32Array(N).fill(1);
  const dst = new Float32Array(N).fill(0);
  const copyS = await time(() => bandwidthCopy(src, dst), 5, 0.3);
  const readS = await time(() => bandwidthRead(src), 5, 0.3);
  const copyBw = (8 * N) / copyS; // bytes read + written
  const readBw = (4 * N) / readS;
  const nativeBest = `native ${isas[isas.length - 1]}`;
  const nBig = 65536 * D;
  const nativeBytes = (16 * nBig) / rows[nativeBest][65536]; // pred, gt, phi read + grad written

  const native = rows[nativeBest];
  const table: string[] = [];
  const pad = (s: string, w: number) => s.padStart(w);
  table.push(['method'.padEnd(22), ...SIZES.map((B) => pad(`B=${B} Mcoord/s (x native)`, 28))].join(''));
  for (const [m, r] of Object.entries(rows)) {
    table.push([m.padEnd(22), ...SIZES.map((B) => {
      const mcs = (B * D) / r[B] / 1e6;
      return pad(`${mcs.toFixed(1)} (${(native[B] / r[B]).toFixed(3)})`, 28);
    })].join(''));
  }
  const bwLines = [
    `memory bandwidth (addon, ${inf.threads} threads): copy ${(copyBw / 1e9).toFixed(2)} GB/s (read+write), read ${(readBw / 1e9).toFixed(2)} GB/s`,
    `native ${isas[isas.length - 1]} at B=65536 moves ${(nativeBytes / 1e9).toFixed(2)} GB/s (3 reads + 1 write of float32): ` +
      `${(copyBw / nativeBytes).toFixed(2)}x below the copy bandwidth`,
  ];
  const load = os.loadavg()[0];
  const best = cpuNs[nativeBest][65536];
  bwLines.push(
    `load average ${load.toFixed(1)} on ${os.cpus().length} cores: native ${isas[isas.length - 1]} used ${best.toFixed(2)} CPU-ns per ` +
      `coordinate at B=65536; with all ${inf.threads} threads on idle cores that is ${((16 * inf.threads) / best).toFixed(2)} GB/s ` +
      `(a projection from CPU time, not a measurement)`,
  );
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} logical cores), isa ${inf.isaDetected}, addon threads ${inf.threads}, node ${process.version}`;
  console.log(`ACR loss + gradient, B x ${D}, float32. ${machine}`);
  console.log(table.join('\n'));
  console.log(bwLines.join('\n'));
  const ratio = (m: string, B: number) => (rows[m] ? rows[m][B] / native[B] : null);
  const npKey = Object.keys(rows).find((k) => k.startsWith('numpy'));
  const targets = {
    vsTfjsCpuAt4096: ratio('tfjs-ops cpu', 4096),
    vsTfjsCpuAt65536: ratio('tfjs-ops cpu', 65536),
    vsNumpyAt4096: npKey ? ratio(npKey, 4096) : null,
    vsNumpyAt65536: npKey ? ratio(npKey, 65536) : null,
    copyBandwidthOverNativeAt65536: copyBw / nativeBytes,
  };
  console.log(`targets: >= 20x tfjs cpu, >= 3x numpy at B >= 4096, within 2x of bandwidth: ${JSON.stringify(targets)}`);
  const out = {
    machine,
    date: new Date().toISOString(),
    dim: D,
    loadAverage: os.loadavg()[0],
    secondsPerCall: rows,
    nativeCpuNsPerCoordinate: cpuNs,
    mcoordPerSecond: Object.fromEntries(Object.entries(rows).map(([m, r]) => [m, Object.fromEntries(SIZES.map((B) => [B, (B * D) / r[B] / 1e6]))])),
    bandwidth: { copyBytesPerSecond: copyBw, readBytesPerSecond: readBw, nativeBytesPerSecondAt65536: nativeBytes },
    targets,
    numpy: np ? np.numpy : null,
  };
  fs.writeFileSync(resultsFile('loss.json'), JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${resultsFile('loss.json')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
