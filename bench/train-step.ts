/**
 * Training-step throughput of the networks on the tfjs cpu backend: images/s of one Adam step
 * (forward + backward + update, L2 loss) for a few sizes, median of several steps after a
 * warm-up step. Usage: node --import tsx bench/train-step.ts [arch:width:size:batch ...] [--native|--stock]
 * Writes train-step.json to <tmp>/acr-loss-bench (or $ACR_BENCH_OUT; --update-results: bench/results/).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel, type Architecture } from '../lib/model';
import { resultsFile } from './results-file';

async function main(): Promise<void> {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  const args = process.argv.slice(2);
  const native = !args.includes('--stock');
  const kernels = await import('../lib/tfjs/native-kernels').catch(() => null);
  if (kernels) kernels.useNativeKernels(native);
  const specs = args.filter((a) => !a.startsWith('--'));
  const configs = (specs.length ? specs : ['mobilenetv2:0.5:64:16', 'mobilenetv2:0.5:96:16', 'mobilenetv2:1.0:96:16']).map((s) => {
    const [arch, width, size, batch] = s.split(':');
    return { arch: arch as Architecture, width: Number(width), size: Number(size), batch: Number(batch) };
  });
  const steps = Number(process.env.STEPS ?? 3);
  const rows: Array<Record<string, unknown>> = [];
  console.log(`backend ${tf.getBackend()}, native kernels ${kernels ? native : 'not available'}, ${steps} timed steps each`);
  console.log('arch          width  size batch   s/step   images/s');
  for (const c of configs) {
    const model = buildModel({ arch: c.arch, inputSize: c.size, width: c.width, numLandmarks: 68, dropout: 0.2, seed: 0 });
    const opt = tf.train.adam(1e-3);
    const x = tf.randomUniform([c.batch, c.size, c.size, 3], -1, 1);
    const y = tf.randomUniform([c.batch, 136], -0.4, 0.4);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const times: number[] = [];
    for (let i = 0; i <= steps; i++) {
      const t0 = performance.now();
      const cost = opt.minimize(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true, vars)!;
      await cost.data();
      cost.dispose();
      if (i > 0) times.push((performance.now() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)];
    rows.push({ ...c, secondsPerStep: med, imagesPerSec: c.batch / med, params: model.countParams() });
    console.log(`${c.arch.padEnd(13)} ${String(c.width).padStart(5)} ${String(c.size).padStart(5)} ${String(c.batch).padStart(5)} ${med.toFixed(3).padStart(8)} ${(c.batch / med).toFixed(1).padStart(10)}`);
    tf.dispose([x, y]);
    model.dispose();
    opt.dispose();
  }
  const out = resultsFile('train-step.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), native, rows }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
