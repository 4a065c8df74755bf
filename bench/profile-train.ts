/**
 * Where a MobileNetV2 training step spends its time, per tfjs kernel: every cpu kernel is
 * wrapped with a timer of process CPU time (all threads), which the shared machine's load
 * does not inflate. `node --import tsx bench/profile-train.ts [width] [size] [batch] [native 0|1]`
 */
import * as tf from '@tensorflow/tfjs';
import { useNativeKernels } from '../lib/tfjs/native-kernels';
import { benchModel, trainStep } from './step';

tf.enableProdMode();
const [width, size, batch, nat] = process.argv.slice(2).map(Number);
useNativeKernels((nat ?? 1) === 1);
const times = new Map<string, { ms: number; calls: number }>();
for (const k of tf.getKernelsForBackend('cpu')) {
  const orig = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'cpu');
  tf.registerKernel({ ...k, kernelFunc: (args) => {
    const c0 = process.cpuUsage();
    const r = orig(args);
    const c = process.cpuUsage(c0);
    const e = times.get(k.kernelName) ?? { ms: 0, calls: 0 };
    e.ms += (c.user + c.system) / 1000; e.calls++;
    times.set(k.kernelName, e);
    return r;
  } });
}
const model = benchModel({ inputSize: size || 112, width: width || 0.5 });
const opt = tf.train.adam(1e-3);
const x = tf.randomNormal([batch || 8, size || 112, size || 112, 3]), y = tf.randomNormal([batch || 8, 136]);
trainStep(model, opt, x, y);
times.clear();
const c0 = process.cpuUsage();
const steps = 2;
for (let i = 0; i < steps; i++) trainStep(model, opt, x, y);
const cpu = process.cpuUsage(c0);
const total = (cpu.user + cpu.system) / 1000 / steps;
const rows = [...times.entries()].sort((a, b) => b[1].ms - a[1].ms);
let sum = 0;
console.log(`step ${total.toFixed(1)} CPU ms (width ${width || 0.5}, size ${size || 112}, batch ${batch || 8}, native ${nat ?? 1})`);
for (const [name, e] of rows) {
  sum += e.ms / steps;
  if (e.ms / steps / total > 0.004) console.log(`${name.padEnd(40)} ${(e.ms / steps).toFixed(1).padStart(8)} ms ${(100 * e.ms / steps / total).toFixed(1).padStart(5)}%  ${e.calls / steps} calls`);
}
const calls = rows.reduce((n, [, e]) => n + e.calls, 0) / steps;
console.log(`kernels total ${sum.toFixed(1)} ms in ${calls} kernel calls; outside kernels ${(total - sum).toFixed(1)} ms`);
