/**
 * Inference speed of a landmark network: onnxruntime-node (the exported ONNX model) vs tfjs cpu
 * (stock, and with this package's native kernels when present) vs tfjs wasm, at batch 1 and 32.
 * Latency is the median of several runs after warm-up; images/s = batch / median latency.
 * Writes infer.json to <tmp>/acr-loss-bench (or $ACR_BENCH_OUT; --update-results: bench/results/).
 *
 *   node --import tsx bench/infer.ts [--model <tfjs-dir>] [--width 1.0] [--size 112] [--landmarks 68]
 *                                    [--seconds 6]
 * Without --model, a MobileNetV2 with random weights of the given width and input size is timed
 * (speed does not depend on the weights).
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import { toOnnx } from '../lib/onnx/export';
import { mobileNetV2 } from '../lib/model';
import { loadModel } from '../lib/tfjs/io';
import { resultsFile } from './results-file';

interface Row {
  engine: string;
  batch: number;
  runs: number;
  medianMs: number;
  minMs: number;
  imagesPerSec: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Runs `fn` until `seconds` have passed (at least 3, at most 50 timed runs) after 2 warm-ups. */
async function time(fn: () => Promise<void>, seconds: number): Promise<{ runs: number; medianMs: number; minMs: number }> {
  await fn();
  await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (times.length < 50 && performance.now() - start < seconds * 1000)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { runs: times.length, medianMs: times[Math.floor(times.length / 2)], minMs: times[0] };
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '6'));
  const modelDir = arg('model', '');
  let model: tf.LayersModel;
  let description: string;
  await tf.setBackend('cpu');
  if (modelDir) {
    model = await loadModel(modelDir);
    description = `tfjs model ${modelDir}`;
  } else {
    const width = Number(arg('width', '1.0'));
    const size = Number(arg('size', '112'));
    const landmarks = Number(arg('landmarks', '68'));
    model = mobileNetV2({ inputSize: size, width, numLandmarks: landmarks });
    description = `MobileNetV2 width ${width}, input ${size}, ${landmarks} landmarks, random weights`;
  }
  const size = model.inputs[0].shape[1] as number;
  const onnx = toOnnx(model);
  console.log(`${description}: ${model.countParams()} parameters, ONNX ${(onnx.length / 1e6).toFixed(1)} MB`);
  const loadBefore = os.loadavg()[0];
  console.log(`${os.cpus().length} x ${os.cpus()[0]?.model}, Node ${process.version}, load average ${loadBefore.toFixed(1)}\n`);

  const rows: Row[] = [];
  const record = (engine: string, batch: number, r: { runs: number; medianMs: number; minMs: number }): void => {
    const row = { engine, batch, ...r, imagesPerSec: (batch * 1000) / r.medianMs };
    rows.push(row);
    console.log(
      `  ${engine.padEnd(22)} batch ${String(batch).padStart(2)}: median ${row.medianMs.toFixed(2).padStart(9)} ms ` +
        `(min ${row.minMs.toFixed(2).padStart(9)})  ${row.imagesPerSec.toFixed(1).padStart(8)} img/s  (${row.runs} runs)`,
    );
  };

  for (const batch of [1, 32]) {
    const x = new Float32Array(batch * size * size * 3).map((_, i) => Math.sin(i) * 0.9);
    for (const threads of [1, os.cpus().length]) {
      const session = await ort.InferenceSession.create(onnx, { executionProviders: ['cpu'], intraOpNumThreads: threads });
      const feed = { image: new ort.Tensor('float32', x, [batch, size, size, 3]) };
      record(`onnxruntime ${threads} thr`, batch, await time(async () => void (await session.run(feed)), seconds));
      await session.release();
    }
    const tfjsRun = async (): Promise<void> => {
      const y = tf.tidy(() => model.predict(tf.tensor4d(x, [batch, size, size, 3])) as tf.Tensor);
      await y.data();
      y.dispose();
    };
    await tf.setBackend('cpu');
    record('tfjs cpu', batch, await time(tfjsRun, seconds));
    const native = await nativeKernels();
    if (native) {
      native(true);
      record('tfjs cpu + native', batch, await time(tfjsRun, seconds));
      native(false);
    }
    await tf.setBackend('wasm');
    record('tfjs wasm', batch, await time(tfjsRun, seconds));
    await tf.setBackend('cpu');
  }

  const best = (batch: number, ortEngine: boolean): Row =>
    rows.filter((r) => r.batch === batch && r.engine.startsWith('onnxruntime') === ortEngine).sort((a, b) => a.medianMs - b.medianMs)[0];
  const ratios = [1, 32].map((batch) => {
    const o = best(batch, true);
    const t = best(batch, false);
    return { batch, onnxruntime: o.engine, bestTfjs: t.engine, speedup: t.medianMs / o.medianMs };
  });
  console.log('\nonnxruntime (best) vs best tfjs path:');
  for (const r of ratios) console.log(`  batch ${String(r.batch).padStart(2)}: ${r.speedup.toFixed(2)}x  (${r.onnxruntime} vs ${r.bestTfjs})`);

  const out = resultsFile('infer.json');
  await fs.mkdir(path.dirname(out), { recursive: true });
  await fs.writeFile(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        model: description,
        inputSize: size,
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        node: process.version,
        // Other processes share these cores: the 1-minute load average before and after the run.
        loadAverage: [loadBefore, os.loadavg()[0]],
        rows,
        ratios,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

/** useNativeKernels when the native addon is built (it throws otherwise). */
async function nativeKernels(): Promise<((on: boolean) => boolean) | undefined> {
  try {
    const { useNativeKernels } = await import('../lib/tfjs/native-kernels');
    useNativeKernels(false);
    return useNativeKernels;
  } catch (err) {
    console.log(`  (tfjs cpu + native kernels skipped: ${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
