/**
 * A/B of two builds of the native ACR loss kernel in ONE process: this checkout's addon against
 * another acr_native.node (an older commit's build), alternating call by call, plus the addon's
 * copy kernel and an L2 loss pass (same bytes as the ACR pass, next to no arithmetic) as the
 * memory-bandwidth references, all in the same rounds. For a loaded machine: every number is a
 * median over rounds, the ratios are medians of per-round ratios, and CPU time (process
 * user + system, all threads) per coordinate is reported next to the wall-clock throughput.
 *
 *   node --import tsx bench/loss-ab.ts /path/to/old/build/Release/acr_native.node [--quick] [--update-results]
 *
 * Writes loss-ab.json to <tmp>/acr-loss-bench (or bench/results/ with --update-results).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { native, NativeBinding } from '../lib/binding';
import { resultsFile } from './results-file';
import { median } from './stats';

const D = 136;
const QUICK = process.argv.includes('--quick');
const oldPath = process.argv.slice(2).find((a) => a.endsWith('.node'));
if (!oldPath || !fs.existsSync(oldPath)) {
  console.error('usage: node --import tsx bench/loss-ab.ts <old acr_native.node> [--quick] [--update-results]');
  process.exit(2);
}
const requireAddon = createRequire(__filename);
const oldB = requireAddon(path.resolve(oldPath)) as NativeBinding;
const newB = native();

function fixture(n: number) {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const gt = Float32Array.from({ length: n }, () => rnd() - 0.5);
  const pred = Float32Array.from(gt, (g) => g + (rnd() - 0.5) * 0.4);
  const phi = Float32Array.from({ length: n }, () => rnd());
  return { pred, gt, phi, grad: new Float32Array(n) };
}

interface Sample {
  wall: number; // seconds per call
  cpu: number; // CPU seconds per call (all threads)
}

/** Runs fn for about `target` seconds; seconds and CPU seconds per call. */
function measure(fn: () => void, reps: number): Sample {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  const wall = (performance.now() - t0) / 1000 / reps;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 / reps };
}

function repsFor(fn: () => void, target: number): number {
  fn();
  const t0 = performance.now();
  fn();
  return Math.max(1, Math.round(target / Math.max((performance.now() - t0) / 1000, 1e-7)));
}

const rounds = QUICK ? 5 : 15;
const sizes = QUICK ? [4096, 65536] : [256, 4096, 65536];
const threadCounts = [1, 2];
const isas = (['avx2', 'avx512'] as const).filter((i) => newB.info().isaDetected === 'avx512' || i === 'avx2');
const out: Record<string, unknown>[] = [];
const lines: string[] = [];

for (const isa of isas) {
  newB.setIsa(isa);
  oldB.setIsa(isa);
  for (const threads of threadCounts) {
    newB.setNumThreads(threads);
    oldB.setNumThreads(threads);
    for (const B of sizes) {
      const n = B * D;
      const { pred, gt, phi, grad } = fixture(n);
      const acr = (b: NativeBinding) => () => {
        b.acrLossAndGrad(pred, gt, phi, null, B, D, 1, 1, 'continuous', 'cpu', 'mean', 1, null, null, grad);
      };
      const l2 = () => {
        newB.l2LossAndGrad(pred, gt, null, B, D, 'mean', 1, null, null, grad);
      };
      const copySrc = pred;
      const copy = () => newB.bandwidthCopy(copySrc, grad);
      const fns = { old: acr(oldB), new: acr(newB), l2, copy };
      const target = QUICK ? 0.05 : 0.1;
      const reps = Object.fromEntries(Object.entries(fns).map(([k, f]) => [k, repsFor(f, target)])) as Record<keyof typeof fns, number>;
      const samples: Record<string, Sample[]> = { old: [], new: [], l2: [], copy: [] };
      const ratios: number[] = [];
      const cpuRatios: number[] = [];
      for (let r = 0; r < rounds; r++) {
        // Alternate the order too, so neither build always runs right after the other.
        const order = r % 2 ? (['new', 'old', 'copy', 'l2'] as const) : (['old', 'new', 'l2', 'copy'] as const);
        for (const k of order) samples[k].push(measure(fns[k], reps[k]));
        ratios.push(samples.old[r].wall / samples.new[r].wall);
        cpuRatios.push(samples.old[r].cpu / samples.new[r].cpu);
      }
      const med = (k: string, f: keyof Sample) => median(samples[k].map((s) => s[f]));
      const row = {
        isa,
        threads,
        B,
        coordinates: n,
        cpuNsPerCoordinate: { old: (med('old', 'cpu') / n) * 1e9, new: (med('new', 'cpu') / n) * 1e9, l2: (med('l2', 'cpu') / n) * 1e9 },
        wallNsPerCoordinate: { old: (med('old', 'wall') / n) * 1e9, new: (med('new', 'wall') / n) * 1e9, l2: (med('l2', 'wall') / n) * 1e9 },
        // pred, gt, phi read + grad written (ACR); pred, gt read + grad written (L2); read + write (copy)
        gbPerSecond: { old: (16 * n) / med('old', 'wall') / 1e9, new: (16 * n) / med('new', 'wall') / 1e9, l2: (12 * n) / med('l2', 'wall') / 1e9, copy: (8 * n) / med('copy', 'wall') / 1e9 },
        speedupWall: median(ratios),
        speedupCpu: median(cpuRatios),
      };
      out.push(row);
      lines.push(
        `${isa.padEnd(6)} ${threads}T B=${String(B).padEnd(5)} CPU-ns/coord old ${row.cpuNsPerCoordinate.old.toFixed(3)} new ${row.cpuNsPerCoordinate.new.toFixed(3)} ` +
          `(x${row.speedupCpu.toFixed(2)} CPU, x${row.speedupWall.toFixed(2)} wall); L2 pass ${row.cpuNsPerCoordinate.l2.toFixed(3)}; ` +
          `GB/s old ${row.gbPerSecond.old.toFixed(2)} new ${row.gbPerSecond.new.toFixed(2)} L2 ${row.gbPerSecond.l2.toFixed(2)} copy ${row.gbPerSecond.copy.toFixed(2)}`,
      );
      console.log(lines[lines.length - 1]);
    }
  }
}
newB.setNumThreads(0);
const machine = `${os.cpus()[0]?.model ?? 'cpu'} (${os.cpus().length} logical cores), node ${process.version}`;
const load = os.loadavg();
console.log(`${machine}; load average ${load.map((x) => x.toFixed(1)).join(' ')}; ${rounds} alternating rounds, medians`);
fs.writeFileSync(
  resultsFile('loss-ab.json'),
  JSON.stringify({ machine, date: new Date().toISOString(), loadAverage: load, old: path.resolve(oldPath), rounds, rows: out }, null, 2) + '\n',
);
console.log(`wrote ${resultsFile('loss-ab.json')}`);
