/**
 * fitAsm, Smooth-Face and Phi against numpy (np.cov + np.linalg.eigh, and the same formulas
 * written in numpy) on the 300-W training shapes. Skips with a message when the data folder or
 * python3 with numpy is missing.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fitAsm } from '../lib/index';
import { maxAbs, maxAbsDiff, readShapes, W300_TRAIN } from './helpers/asm-ref';

const LEVEL = 0.95;
const PY = `
import sys, json, numpy as np
d = int(sys.argv[2]); level = float(sys.argv[3])
x = np.fromfile(sys.argv[1], dtype=np.float64).reshape(-1, d)
mean = x.mean(axis=0)
w, v = np.linalg.eigh(np.cov(x, rowvar=False))
w, v = w[::-1], v[:, ::-1]                      # descending, columns = vectors
w = np.where(w <= 1e-28 * max((mean ** 2).max(), np.diag(np.cov(x, rowvar=False)).max()), 0, w)
cum = np.cumsum(w) / w.sum()
k = int(np.argmax(cum >= level - 1e-12)) + 1
b = (x - mean) @ v[:, :k]
lim = 3 * np.sqrt(w[:k])
smooth = mean + np.clip(b, -lim, lim) @ v[:, :k].T
dev = np.abs(x - smooth)
phi = dev / dev.max(axis=1, keepdims=True)
dist = np.hypot(dev[:, 0::2], dev[:, 1::2])
phil = np.repeat(dist / dist.max(axis=1, keepdims=True), 2, axis=1)
out = sys.argv[4]
np.concatenate([mean, w, v.T.ravel(), smooth.ravel(), phi.ravel(), phil.ravel()]).tofile(out)
print(json.dumps({"k": k, "numpy": np.__version__}))
`;

function skipReason(): string | undefined {
  if (!fs.existsSync(W300_TRAIN)) return `300-W training data not found at ${W300_TRAIN}`;
  const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'python3 with numpy is not available';
  return undefined;
}

const reason = skipReason();
if (reason) {
  t.comment(`skipping the numpy comparison: ${reason}`);
  t.pass('skipped: ' + reason);
} else {
  t.test('fitAsm, smooth and phi agree with numpy on the 300-W training shapes', async (t) => {
    const shapes = readShapes(W300_TRAIN);
    const n = shapes.length, d = 136;
    t.ok(n > 1000, `${n} shapes read`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-asm-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const x = Float64Array.from(shapes.flat());
    fs.writeFileSync(path.join(dir, 'x.bin'), Buffer.from(x.buffer));
    const run = spawnSync('python3', ['-c', PY, path.join(dir, 'x.bin'), String(d), String(LEVEL), path.join(dir, 'out.bin')], {
      encoding: 'utf8',
    });
    t.equal(run.status, 0, `numpy ran ${run.stderr}`);
    const meta = JSON.parse(run.stdout) as { k: number; numpy: string };
    const buf = fs.readFileSync(path.join(dir, 'out.bin'));
    const ref = new Float64Array(buf.buffer, buf.byteOffset, buf.length / 8);
    let o = 0;
    const take = (len: number) => ref.subarray(o, (o += len));
    const mean = take(d), w = take(d), vt = take(d * d), smooth = take(n * d), phi = take(n * d), phil = take(n * d);

    const m = fitAsm(x, { numLandmarks: 68 });
    t.ok(maxAbsDiff(m.mean, mean) < 1e-14, 'mean');
    t.ok(maxAbsDiff(m.eigenvalues, w) < 1e-12 * w[0], `eigenvalues (numpy ${meta.numpy})`);
    t.equal(m.numComponents(LEVEL), meta.k, `k at ${LEVEL} = ${meta.k}`);
    // Eigenvectors up to sign, where the eigenvalue is separated from its neighbours.
    let worst = 0, compared = 0;
    for (let i = 0; i < d; i++) {
      const gap = Math.min(i > 0 ? w[i - 1] - w[i] : Infinity, i < d - 1 ? w[i] - w[i + 1] : Infinity);
      if (gap < 1e-8 * w[0]) continue; // error ~ eps * w[0] / gap
      let dot = 0;
      for (let j = 0; j < d; j++) dot += m.components[i * d + j] * vt[i * d + j];
      worst = Math.max(worst, 1 - Math.abs(dot));
      compared++;
    }
    t.ok(compared > d / 2 && worst < 1e-8, `${compared} eigenvectors equal numpy's up to sign (1 - |cos| <= ${worst.toExponential(2)})`);
    t.ok(maxAbsDiff(m.smooth(x, LEVEL), smooth) < 1e-12 * maxAbs(smooth), 'Smooth-Face');
    t.ok(maxAbsDiff(m.phi(x, LEVEL), phi) < 1e-9, 'Phi per coordinate');
    t.ok(maxAbsDiff(m.phi(x, LEVEL, { mode: 'landmark' }), phil) < 1e-9, 'Phi per landmark');
  });
}
