/**
 * Where a MobileNetV2 training step spends its time, per tfjs kernel: every cpu kernel is
 * wrapped with a timer of process CPU time (all threads), which the shared machine's load
 * does not inflate. `node --import tsx bench/profile-train.ts [width] [size] [batch] [native 0|1] [--json]`
 * --json prints one line instead: the step's CPU ms and the ms of each operator family, named as
 * the libtorch peer's profile names them (bench/profile-compare.ts sets the two side by side).
 */
import * as tf from '@tensorflow/tfjs';
import { useNativeKernels } from '../lib/tfjs/native-kernels';
import { benchModel, trainStep } from './step';

tf.enableProdMode();
const json = process.argv.includes('--json');
const [width, size, batch, nat] = process.argv.slice(2).filter((a) => a !== '--json').map(Number);
useNativeKernels((nat ?? 1) === 1);

type Args = { inputs: Record<string, tf.TensorInfo | undefined>; attrs?: Record<string, unknown> };
const isPointwise = (shape: unknown) => Array.isArray(shape) && shape[0] === 1 && shape[1] === 1;
/** The operator family of a kernel call (the peer's names; BN and ReLU6 run fused here). */
function family(kernel: string, a: Args): string {
  switch (kernel) {
    case 'Conv2D':
    case 'FusedConv2D':
      return isPointwise(a.inputs.filter?.shape) ? 'conv 1x1 forward' : 'stem conv forward';
    case 'Conv2DBackpropInput':
      return isPointwise(a.inputs.filter?.shape) ? 'conv 1x1 backward' : 'stem conv backward';
    case 'Conv2DBackpropFilter':
      return isPointwise(a.attrs?.filterShape) ? 'conv 1x1 backward' : 'stem conv backward';
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D':
      return 'depthwise forward';
    case 'DepthwiseConv2dNativeBackpropInput':
    case 'DepthwiseConv2dNativeBackpropFilter':
      return 'depthwise backward';
    case 'AcrBatchNormTrain':
    case 'AcrBatchNormReluCapTrain':
    case 'AcrReluCap':
      return 'batch norm + relu6 forward';
    case 'AcrBatchNormTrainGrad':
    case 'AcrReluCapGrad':
      return 'batch norm + relu6 backward';
    default:
      return 'other kernels';
  }
}

const times = new Map<string, { ms: number; calls: number }>();
const families = new Map<string, number>();
for (const k of tf.getKernelsForBackend('cpu')) {
  const orig = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'cpu');
  tf.registerKernel({ ...k, kernelFunc: (args) => {
    const c0 = process.cpuUsage();
    const r = orig(args);
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000;
    const e = times.get(k.kernelName) ?? { ms: 0, calls: 0 };
    e.ms += ms; e.calls++;
    times.set(k.kernelName, e);
    const f = family(k.kernelName, args as unknown as Args);
    families.set(f, (families.get(f) ?? 0) + ms);
    return r;
  } });
}
const model = benchModel({ inputSize: size || 112, width: width || 0.5 });
const opt = tf.train.adam(1e-3);
const x = tf.randomNormal([batch || 8, size || 112, size || 112, 3]), y = tf.randomNormal([batch || 8, 136]);
trainStep(model, opt, x, y);
times.clear();
families.clear();
const c0 = process.cpuUsage();
const steps = 2;
for (let i = 0; i < steps; i++) trainStep(model, opt, x, y);
const cpu = process.cpuUsage(c0);
const total = (cpu.user + cpu.system) / 1000 / steps;
const rows = [...times.entries()].sort((a, b) => b[1].ms - a[1].ms);
const sum = rows.reduce((s, [, e]) => s + e.ms / steps, 0);
if (json) {
  const profileMs = Object.fromEntries([...families].map(([f, ms]) => [f, ms / steps]));
  profileMs['outside kernels'] = total - sum;
  console.log(JSON.stringify({ cpuMs: total, profileMs }));
} else {
  console.log(`step ${total.toFixed(1)} CPU ms (width ${width || 0.5}, size ${size || 112}, batch ${batch || 8}, native ${nat ?? 1})`);
  for (const [name, e] of rows) {
    if (e.ms / steps / total > 0.004) console.log(`${name.padEnd(40)} ${(e.ms / steps).toFixed(1).padStart(8)} ms ${(100 * e.ms / steps / total).toFixed(1).padStart(5)}%  ${e.calls / steps} calls`);
  }
  const calls = rows.reduce((n, [, e]) => n + e.calls, 0) / steps;
  console.log(`kernels total ${sum.toFixed(1)} ms in ${calls} kernel calls; outside kernels ${(total - sum).toFixed(1)} ms`);
}
