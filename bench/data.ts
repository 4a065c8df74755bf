/**
 * Data pipeline throughput on the real 300-W training set (skips when it is absent):
 * images/s of decode-free batches (images cached in memory) with and without augmentation,
 * at 96 and 128 px, on the main thread (one core); and how much a worker thread hides when the
 * consumer is busy with a synchronous training step (the share of step time spent waiting).
 * Run: nice node --import tsx bench/data.ts   (writes data.json to <tmp>/acr-loss-bench, or bench/results/ with --update-results)
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from '../lib/data/dataset';
import { DataLoader } from '../lib/data/loader';
import { resultsFile } from './results-file';

const DATA = path.resolve(__dirname, '../../shared/data/300w/train');
const RUNS = 3;
const BATCHES = 16;
const BATCH = 32;

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Busy-waits: stands in for a synchronous training step that holds the main thread. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

async function main(): Promise<void> {
  if (!existsSync(DATA)) {
    console.log(`bench/data: ${DATA} is absent, nothing to measure`);
    return;
  }
  const ds = await loadDataset(DATA);
  const t0 = performance.now();
  const records = ds.records;
  const results: Record<string, unknown>[] = [];
  // One cache for all runs: the loader that builds it is reused per configuration.
  for (const size of [96, 128]) {
    for (const augment of [false, true] as const) {
      const loader = await DataLoader.create(records, { size, batchSize: BATCH, augment: augment ? {} : false, seed: 1 });
      const rates: number[] = [];
      const cpuRates: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const start = performance.now();
        const cpu0 = process.cpuUsage();
        let n = 0;
        let b = 0;
        for await (const batch of loader.epoch(r)) {
          n += batch.batchSize;
          if (++b >= BATCHES) break;
        }
        const cpu = process.cpuUsage(cpu0);
        rates.push((n / (performance.now() - start)) * 1000);
        // Per CPU-second: what one uncontended core would do (the machine is shared).
        cpuRates.push(n / ((cpu.user + cpu.system) / 1e6));
      }
      console.error(`size ${size} augment ${augment}: ${rates.map(Math.round)} images/s wall, ${cpuRates.map(Math.round)} per CPU-second`);
      results.push({ test: 'throughput', size, augment, workers: 0, imagesPerSec: Math.round(median(rates)), imagesPerCpuSec: Math.round(median(cpuRates)), runs: rates.map(Math.round) });
      await loader.close();
    }
  }
  // Overlap: a consumer that computes for `step` ms per batch, with and without a worker.
  const overlap: Record<string, unknown>[] = [];
  for (const size of [96, 128]) {
    const probe = results.find((r) => r.size === size && r.augment === true) as { imagesPerSec: number };
    const step = Math.round((BATCH / probe.imagesPerSec) * 1000); // as long as producing a batch
    for (const workers of [0, 1]) {
      const loader = await DataLoader.create(records, { size, batchSize: BATCH, augment: {}, seed: 1, workers, prefetch: 2 });
      const shares: number[] = [];
      const perBatch: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        loader.resetStats();
        const start = performance.now();
        let b = 0;
        for await (const _ of loader.epoch(r)) {
          spin(step);
          if (++b >= BATCHES) break;
        }
        const wall = performance.now() - start;
        shares.push(loader.stats.waitMs / wall);
        perBatch.push(wall / b);
      }
      overlap.push({ test: 'overlap', size, workers, stepMs: step, msPerBatch: +median(perBatch).toFixed(1), waitShare: +median(shares).toFixed(3) });
      await loader.close();
    }
  }
  console.log(`300-W train: ${records.length} faces, batch ${BATCH}, ${BATCHES} batches x ${RUNS} runs (median)\n`);
  console.log('size  augment  images/s wall (main thread)  images per CPU-second');
  for (const r of results as Array<{ size: number; augment: boolean; imagesPerSec: number; imagesPerCpuSec: number }>) {
    console.log(`${String(r.size).padEnd(5)} ${String(r.augment).padEnd(8)} ${String(r.imagesPerSec).padEnd(28)} ${r.imagesPerCpuSec}`);
  }
  console.log('\nconsumer busy for one batch-production time per batch:');
  console.log('size  step ms  workers=0 ms/batch (wait share)  workers=1 ms/batch (wait share)  ratio');
  for (const size of [96, 128]) {
    const [a, b] = overlap.filter((o) => o.size === size) as Array<{ stepMs: number; msPerBatch: number; waitShare: number }>;
    console.log(`${String(size).padEnd(5)} ${String(a.stepMs).padEnd(8)} ${`${a.msPerBatch} (${a.waitShare})`.padEnd(33)} ${`${b.msPerBatch} (${b.waitShare})`.padEnd(33)} ${(a.msPerBatch / b.msPerBatch).toFixed(2)}x`);
  }
  const out = resultsFile('data.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), loadAverage: os.loadavg(), cores: os.cpus().length, faces: records.length, batch: BATCH, results, overlap, seconds: (performance.now() - t0) / 1000 }, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

process.on('exit', (c) => { if (c) console.error('exit code', c); });
main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
