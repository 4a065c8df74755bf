import t from 'tap';
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig } from '../lib/train/config';
import { learningRate } from '../lib/train/lr';
import { ProgressBar, formatDuration } from '../lib/train/progress';

t.test('defaults in one place; every field validated with its name', async (t) => {
  const c = resolveTrainConfig({ data: 'd' });
  t.same({ ...c, data: '' }, DEFAULT_TRAIN_CONFIG);
  t.equal(c.inputSize, 224, 'the paper\'s input size');
  t.equal(c.width, 1);
  const bad: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ epochs: 0 }, 'ERR_RANGE', /config\.epochs/],
    [{ batchSize: 1.5 }, 'ERR_RANGE', /config\.batchSize/],
    [{ loss: 'mse' }, 'ERR_ARG', /config\.loss: expected one of 'acr'/],
    [{ arch: 'vgg' }, 'ERR_ARG', /config\.arch/],
    [{ lr: 0 }, 'ERR_RANGE', /config\.lr/],
    [{ lambda: -1 }, 'ERR_RANGE', /config\.lambda/],
    [{ valFraction: 1 }, 'ERR_RANGE', /config\.valFraction/],
    [{ dropout: 1 }, 'ERR_RANGE', /config\.dropout/],
    [{ lrMinFactor: 2 }, 'ERR_RANGE', /config\.lrMinFactor/],
    [{ augment: 'yes' }, 'ERR_ARG', /config\.augment/],
    [{ out: '' }, 'ERR_ARG', /config\.out/],
    [{ inputSize: 16 }, 'ERR_RANGE', /config\.inputSize/],
    [{ typo: 1 }, 'ERR_ARG', /config\.typo: unknown option/],
    [{ width: 1e9 }, 'ERR_RANGE', /config\.width: expected a width multiplier in \(0, 4\]/],
    [{ inputSize: 4096 }, 'ERR_RANGE', /config\.inputSize/],
    [{ head: 'fpn' }, 'ERR_ARG', /config\.head: expected one of 'gap', 'multiscale', 'gdconv'/],
    [{ arch: 'tiny', inputSize: 32, head: 'multiscale' }, 'ERR_ARG', /config\.head: 'multiscale' needs arch 'mobilenetv2'/],
    [{ arch: 'mobilenetv1', head: 'multiscale' }, 'ERR_ARG', /config\.head: 'multiscale' needs arch 'mobilenetv2', got 'mobilenetv1'/],
    [{ arch: 'tiny', inputSize: 32, head: 'gdconv' }, 'ERR_ARG', /config\.head: 'gdconv' needs arch 'mobilenetv2' or 'mobilenetv1', got 'tiny'/],
    [{ init: 'imagenet' }, 'ERR_ARG', /config\.init: expected one of 'random', 'face-detector'/],
    [{ init: 'face-detector' }, 'ERR_ARG', /config\.init: 'face-detector' needs arch 'mobilenetv1' with width 1, got 'mobilenetv2'/],
    [{ arch: 'mobilenetv1', width: 0.5, init: 'face-detector' }, 'ERR_ARG', /needs arch 'mobilenetv1' with width 1, got 'mobilenetv1' width 0.5/],
    [{ lossScale: 0 }, 'ERR_RANGE', /config\.lossScale/],
    [{ acrUnits: 'px' }, 'ERR_ARG', /config\.acrUnits: expected one of 'normalized', 'pixels'/],
    [{ phiFloor: 1.5 }, 'ERR_RANGE', /config\.phiFloor: expected a value in \[0, 1\]/],
    [{ augScale: [1.1, 0.9] }, 'ERR_ARG', /config\.augScale: expected \[min, max\]/],
    [{ augScale: [0, 1] }, 'ERR_ARG', /config\.augScale/],
    [{ augShift: 0.6 }, 'ERR_RANGE', /config\.augShift/],
    [{ augRotation: -1 }, 'ERR_RANGE', /config\.augRotation/],
    [{ augOcclusion: 1.5 }, 'ERR_RANGE', /config\.augOcclusion: expected a probability in \[0, 1\]/],
    [{ augOcclusion: -0.1 }, 'ERR_RANGE', /config\.augOcclusion/],
    [{ extraData: 'x' }, 'ERR_ARG', /config\.extraData: expected an array/],
    [{ extraData: [{ path: 'x', weight: 2 }] }, 'ERR_RANGE', /config\.extraData\[0\]\.weight: expected a share of epochs in \(0, 1\]/],
    [{ extraData: [{ weight: 1 }] }, 'ERR_ARG', /config\.extraData\[0\]: expected \{ path/],
  ];
  for (const [p, code, msg] of bad) t.throws(() => resolveTrainConfig({ data: 'd', ...p }), { code, message: msg }, JSON.stringify(p));
  t.equal(resolveTrainConfig({ arch: 'tiny', inputSize: 16 }).inputSize, 16, 'the tiny net takes small inputs');
  t.equal(resolveTrainConfig({ arch: 'mobilenetv1', head: 'gdconv' }).head, 'gdconv', 'MobileNetV1 takes the gdconv head');
  t.throws(() => resolveTrainConfig('x' as never), { code: 'ERR_ARG' });
});

t.test('learning-rate schedules', async (t) => {
  const base = { ...DEFAULT_TRAIN_CONFIG, lr: 1e-3, epochs: 10 };
  const spe = 5;
  const cos = { ...base, lrSchedule: 'cosine' as const, lrMinFactor: 0.01 };
  t.equal(learningRate(cos, 0, spe), 1e-3, 'starts at lr');
  t.ok(Math.abs(learningRate(cos, 49, spe) - 1e-5) < 1e-15, 'ends at lr * lrMinFactor');
  t.ok(Math.abs(learningRate(cos, 24.5, spe) - (1e-5 + 0.5 * (1e-3 - 1e-5))) < 1e-12, 'half way: the midpoint');
  for (let s = 1; s < 50; s++) t.ok(learningRate(cos, s, spe) <= learningRate(cos, s - 1, spe), `monotone at ${s}`);
  const step = { ...base, lrSchedule: 'step' as const, lrStepEpochs: 4, lrStepGamma: 0.1 };
  t.equal(learningRate(step, 19, spe), 1e-3);
  t.ok(Math.abs(learningRate(step, 20, spe) - 1e-4) < 1e-15);
  t.ok(Math.abs(learningRate(step, 40, spe) - 1e-5) < 1e-15);
  t.equal(learningRate({ ...base, lrSchedule: 'constant' as const }, 33, spe), 1e-3);
  const warm = { ...cos, warmupEpochs: 2 };
  t.equal(learningRate(warm, 0, spe), 1e-4, 'warm-up: linear from lr / steps');
  t.equal(learningRate(warm, 9, spe), 1e-3);
  t.equal(learningRate(warm, 10, spe), 1e-3, 'cosine starts after the warm-up');
});

t.test('progress bar: TTY redraws one line, logs get ~10 lines an epoch', async (t) => {
  t.equal(formatDuration(0), '00:00');
  t.equal(formatDuration(3725), '1:02:05');
  t.equal(formatDuration(NaN), '--:--');
  const chunks: string[] = [];
  const tty = new ProgressBar({ write: (s) => chunks.push(s) > 0, isTTY: true, columns: 100 }, 'epoch 1/2', 4);
  tty.update(2, 0.5, 10, 30);
  t.match(chunks[0], /^\repoch 1\/2 \[=+>? *\] 2\/4 loss 0\.5000 10\.0 img\/s ETA 00:30\x1b\[K$/);
  tty.finish('done');
  t.match(chunks[1], /^\repoch 1\/2 done\x1b\[K\n$/);
  // Slow steps (a minute each): the first step, then each 10 %.
  let clock = 0;
  const now = () => clock;
  const lines: string[] = [];
  const log = new ProgressBar({ write: (s) => lines.push(s) > 0 }, 'epoch 1/1', 100, { now });
  for (let i = 1; i <= 100; i++, clock += 60_000) log.update(i, 1, 1, 1);
  t.equal(lines.length, 11, 'the first step, then every 10%');
  t.ok(lines.every((l) => l.endsWith('\n') && !l.includes('\r')));
});

t.test('progress bar: fast steps are throttled by time, in logs and on a terminal', async (t) => {
  let clock = 0;
  const now = () => clock;
  // Not a terminal: 1000 steps of 10 ms (10 s in all) print one line; of 1 s each, a line per 10 % (>= 30 s apart).
  const fast: string[] = [];
  const a = new ProgressBar({ write: (s) => fast.push(s) > 0 }, 'epoch 1/1', 1000, { now });
  for (let i = 1; i <= 1000; i++, clock += 10) a.update(i, 1, 1, 1);
  t.equal(fast.length, 1, 'one line for a 10-second epoch');
  t.match(fast[0], /^epoch 1\/1 1\/1000 loss/);
  const slow: string[] = [];
  const b = new ProgressBar({ write: (s) => slow.push(s) > 0 }, 'epoch 1/1', 1000, { now });
  for (let i = 1; i <= 1000; i++, clock += 1000) b.update(i, 1, 1, 1);
  t.equal(slow.length, 11);
  const tight: string[] = [];
  const c = new ProgressBar({ write: (s) => tight.push(s) > 0 }, 'epoch 1/1', 1000, { now, logIntervalMs: 250_000 });
  for (let i = 1; i <= 1000; i++, clock += 1000) c.update(i, 1, 1, 1);
  t.equal(tight.length, 4, 'logIntervalMs bounds the rate too: 1000 s / 250 s');
  // A terminal: redraws at most every 100 ms, and always the last step.
  const draws: string[] = [];
  const d = new ProgressBar({ write: (s) => draws.push(s) > 0, isTTY: true, columns: 100 }, 'epoch 1/1', 1000, { now });
  for (let i = 1; i <= 1000; i++, clock += 1) d.update(i, 1, 1, 1);
  t.equal(draws.length, 11, '1 s of steps: 10 redraws + the last step');
  t.match(draws[draws.length - 1], / 1000\/1000 loss/);
});
