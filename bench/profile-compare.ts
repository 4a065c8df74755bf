/**
 * Where the native training step and the tuned libtorch peer differ, operator family by family:
 * both run one thread (so each operator's time is its own), batch 32, alternating --repeat times;
 * medians per family. The native side times each tfjs kernel by process CPU time
 * (bench/profile-train.ts --json); the peer's autograd profiler times each operator on its thread
 * (bench/libtorch/mobilenetv2_train ... profile). Read it on a quiet machine.
 *
 *   node --import tsx bench/profile-compare.ts [width] [size] [--repeat 3]
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { libtorchBinary, peerSettings } from './libtorch-peer';
import { median } from './stats';

const args = process.argv.slice(2);
const ri = args.indexOf('--repeat');
const repeat = ri >= 0 ? Math.max(1, Number(args[ri + 1])) : 3;
const [width = 0.5, size = 112] = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--repeat').map(Number);

interface Profile { cpuMs: number; profileMs: Record<string, number> }

function run(cmd: string, argv: string[], env: Record<string, string>): Profile {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    const p = JSON.parse(line) as Profile & { cpuMs: number | number[] };
    const cpu = Array.isArray(p.cpuMs) ? median(p.cpuMs) : p.cpuMs;
    return { cpuMs: cpu, profileMs: p.profileMs };
  } catch {
    throw new Error(`${path.basename(cmd)} ${argv.join(' ')} gave no profile: ${(r.stderr || line).slice(0, 400)}`);
  }
}

const torch = libtorchBinary();
if (!torch) {
  console.error('the libtorch peer is not built (bench/libtorch/build.sh): nothing to compare against');
  process.exit(1);
}
const native: Profile[] = [], peer: Profile[] = [];
for (let i = 0; i < repeat; i++) {
  native.push(run(process.execPath, ['--import', 'tsx', path.join(__dirname, 'profile-train.ts'), String(width), String(size), '32', '1', '--json'], { ACR_NUM_THREADS: '1' }));
  peer.push(run(torch, [String(width), String(size), '32', '3', '1', 'profile'], peerSettings().env));
}
// The peer runs batch norm and ReLU6 apart; the native step runs them fused.
const fold = (p: Profile): Record<string, number> => {
  const m = { ...p.profileMs };
  for (const dir of ['forward', 'backward']) {
    const bn = m[`batch norm ${dir}`], relu = m[`relu6 ${dir}`];
    if (bn !== undefined || relu !== undefined) {
      m[`batch norm + relu6 ${dir}`] = (bn ?? 0) + (relu ?? 0);
      delete m[`batch norm ${dir}`];
      delete m[`relu6 ${dir}`];
    }
  }
  const counted = Object.entries(m).reduce((s, [k, v]) => (k === 'outside kernels' ? s : s + v), 0);
  if (!('outside kernels' in m)) m['the rest (optimizer, loss, autograd)'] = p.cpuMs - counted;
  else { m['the rest (optimizer, loss, autograd)'] = m['outside kernels'] + (m['other kernels'] ?? 0); delete m['outside kernels']; delete m['other kernels']; }
  return m;
};
const n = native.map(fold), t = peer.map(fold);
const families = [...new Set([...n, ...t].flatMap((m) => Object.keys(m)))];
const med = (ms: Array<Record<string, number>>, f: string) => median(ms.map((m) => m[f] ?? 0));
console.log(`MobileNetV2 x${width}/${size}, batch 32, one thread, medians of ${repeat} alternating runs (ms per step)\n`);
console.log('| operator family | native kernels | libtorch (tuned) | native / libtorch |');
console.log('|---|---:|---:|---:|');
for (const f of families) {
  const a = med(n, f), b = med(t, f);
  console.log(`| ${f} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${b > 0 ? (a / b).toFixed(2) : '-'} |`);
}
const a = median(native.map((p) => p.cpuMs)), b = median(peer.map((p) => p.cpuMs));
console.log(`| whole step (CPU ms, unprofiled for the peer) | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)} |`);
