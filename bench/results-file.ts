/**
 * Where a benchmark writes its JSON: by default a folder outside the repository
 * ($ACR_BENCH_OUT, else <tmp>/acr-loss-bench), so a quick or noisy run never overwrites the
 * committed numbers; `--update-results` (or ACR_BENCH_UPDATE=1) writes bench/results/ instead,
 * for a measurement meant to be committed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export function resultsFile(name: string): string {
  const committed = process.argv.includes('--update-results') || process.env.ACR_BENCH_UPDATE === '1';
  const dir = committed ? path.join(__dirname, 'results') : (process.env.ACR_BENCH_OUT ?? path.join(os.tmpdir(), 'acr-loss-bench'));
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
