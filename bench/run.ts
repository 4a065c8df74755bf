/**
 * `npm run bench`: runs the kernel benchmarks one after another (each in its own process, so
 * one benchmark's allocations and threads do not disturb the next) and leaves their JSON in
 * <tmp>/acr-loss-bench (or $ACR_BENCH_OUT); `--update-results` writes the committed bench/results/
 * instead. Pass names to run a subset: `npm run bench -- loss asm`.
 * The training and inference benchmarks are separate (`npm run bench:train`, `bench:infer`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ALL = ['loss', 'asm'];
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const names = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const wanted = names.length ? names : ALL;

let failed = 0;
for (const name of wanted) {
  const file = path.join(__dirname, `${name}.ts`);
  if (!fs.existsSync(file)) {
    console.error(`bench: no benchmark named '${name}' (expected ${file})`);
    failed++;
    continue;
  }
  console.log(`\n=== bench/${name}.ts ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...flags], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench/${name}.ts exited with ${r.status ?? r.signal}`);
    failed++;
  }
}
process.exitCode = failed ? 1 : 0;
