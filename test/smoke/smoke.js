#!/usr/bin/env node
// Package smoke test: run in a project where the packed acr-loss was installed from its tarball
// (.ci/run does this: `npm pack`, an empty project, no cmake on PATH). It uses only the package's
// public entry point, the user's own @tensorflow/tfjs and onnxruntime-node, and sharp.
//   node smoke.js            checks the ASM, the ACR loss in a training step, the Predictor
//   SMOKE_EXPECT_PREBUILT=1  also demands that the addon is the shipped prebuilt (no build/ folder)
// Exits 1 at the first failed check; prints one line per check.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

// tfjs' warnings of a second copy ("Platform node has already been set", "... already registered")
// must not appear: collect every warning and fail on those.
const warnings = [];
const warn = console.warn;
console.warn = (...a) => {
  warnings.push(a.join(' '));
  warn(...a);
};

const tf = require('@tensorflow/tfjs');
const acr = require('acr-loss');
const sharp = require('sharp');

function check(name, fn) {
  return Promise.resolve()
    .then(fn)
    .then(
      (detail) => console.log(`smoke: ok   ${name}${detail ? ` (${detail})` : ''}`),
      (err) => {
        console.error(`smoke: FAIL ${name}: ${err && err.stack ? err.stack : err}`);
        process.exit(1);
      },
    );
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** N face-like shapes of L landmarks: points on an ellipse, scaled, shifted and jittered. */
function shapes(n, L, seed) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const s = 0.3 + 0.05 * r();
    const dx = 0.02 * (r() - 0.5);
    const dy = 0.02 * (r() - 0.5);
    const row = [];
    for (let k = 0; k < L; k++) {
      const a = (2 * Math.PI * k) / L;
      row.push(dx + s * Math.cos(a) + 0.01 * (r() - 0.5), dy + 1.2 * s * Math.sin(a) + 0.01 * (r() - 0.5));
    }
    out.push(row);
  }
  return out;
}

async function main() {
  const pkgDir = path.dirname(require.resolve('acr-loss/package.json'));
  const pkg = require('acr-loss/package.json');
  console.log(`smoke: acr-loss ${pkg.version} at ${pkgDir}, @tensorflow/tfjs ${tf.version.tfjs}, node ${process.version}`);

  await check('native addon loads', () => {
    const i = acr.info();
    assert.match(i.isa, /^(scalar|avx2|avx512)$/);
    const hasBuild = fs.existsSync(path.join(pkgDir, 'build'));
    const hasPrebuilt = fs.existsSync(path.join(pkgDir, 'prebuilds', `${process.platform}-${process.arch}`, 'acr_native.node'));
    if (process.env.SMOKE_EXPECT_PREBUILT === '1') {
      assert.ok(hasPrebuilt, 'the package has no prebuilt for this platform');
      assert.ok(!hasBuild, 'the install compiled from source (build/ exists) instead of using the prebuilt');
      assert.equal(i.cudaCompiled, false, 'the prebuilt must be CPU only');
    }
    return `${hasBuild ? 'source build' : 'prebuilt'}, isa ${i.isa}, ${i.threads} threads, CUDA ${i.cudaCompiled}`;
  });

  await check('one copy of tfjs-core', () => {
    const mine = require.resolve('@tensorflow/tfjs-core');
    const theirs = require.resolve('@tensorflow/tfjs-core', { paths: [pkgDir] });
    assert.equal(theirs, mine, 'acr-loss resolved its own tfjs-core');
  });

  const L = 68;
  const D = 2 * L;
  const train = shapes(300, L, 1);
  let asm;
  await check('fitAsm on generated shapes', () => {
    asm = acr.fitAsm(train);
    const ev = Array.from(asm.eigenvalues);
    assert.equal(asm.mean.length, D);
    assert.ok(ev.every((v, i) => Number.isFinite(v) && v >= -1e-12 && (i === 0 || v <= ev[i - 1] + 1e-12)), 'eigenvalues finite, descending');
    const phi = asm.phi(train.slice(0, 8), acr.schedule(0, 10));
    assert.equal(phi.length, 8 * D);
    assert.ok(Array.from(phi).every((v) => v >= 0 && v <= 1), 'Phi in [0, 1]');
    return `k = ${asm.numComponents(0.97)} components at 0.97`;
  });

  await check('acrLoss in a tfjs training step, with its gradient', async () => {
    const B = 16;
    const target = train.slice(0, B);
    const phi = Float32Array.from(asm.phi(target, acr.schedule(0, 10)));
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [8], units: D, kernelInitializer: 'zeros' })] });
    const optimizer = tf.train.adam(1e-2);
    const x = tf.randomNormal([B, 8], 0, 1, 'float32', 7);
    const y = tf.tensor2d(target);
    const p = tf.tensor2d(phi, [B, D]);
    const losses = [];
    for (let step = 0; step < 20; step++) {
      const loss = optimizer.minimize(() => acr.acrLoss(y, model.predict(x), p), true);
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    assert.ok(losses.every(Number.isFinite), `finite losses: ${losses}`);
    assert.ok(losses[19] < 0.8 * losses[0], `the loss falls: ${losses[0]} -> ${losses[19]}`);
    // The op's gradient against the native kernel's, on the same prediction.
    const pred = tf.randomNormal([B, D], 0, 0.1, 'float32', 3);
    const g = tf.grad((q) => acr.acrLoss(y, q, p))(pred);
    const ref = acr.kernels.acrLossAndGrad(pred.dataSync(), y.dataSync(), phi);
    const got = g.dataSync();
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref.grad[i]));
    assert.ok(maxDiff < 1e-6, `tf.grad matches the native gradient (max diff ${maxDiff})`);
    tf.dispose([x, y, p, pred, g]);
    return `loss ${losses[0].toFixed(4)} -> ${losses[19].toFixed(4)} in 20 Adam steps, gradient max diff ${maxDiff.toExponential(1)}`;
  });

  await check('native conv kernels on this tfjs: same loss as stock tfjs', async () => {
    // conv2d + depthwise + batch norm + ReLU6 + dense, one training step from the same weights.
    const build = () => {
      const m = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
          tf.layers.batchNormalization(),
          tf.layers.reLU({ maxValue: 6 }),
          tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
          tf.layers.globalAveragePooling2d({}),
          tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
        ],
      });
      return m;
    };
    const x = tf.randomUniform([4, 16, 16, 3], 0, 1, 'float32', 11);
    const y = tf.randomUniform([4, 4], -0.5, 0.5, 'float32', 12);
    const step = () => {
      const m = build();
      const opt = tf.train.adam(1e-2);
      const losses = [];
      for (let i = 0; i < 3; i++) {
        const l = opt.minimize(() => tf.losses.meanSquaredError(y, m.apply(x, { training: true })), true);
        losses.push(l.dataSync()[0]);
        l.dispose();
      }
      m.dispose();
      return losses;
    };
    const stock = step();
    acr.useNativeKernels(true);
    let native;
    try {
      native = step();
    } finally {
      acr.useNativeKernels(false);
    }
    const calls = acr.nativeKernelStats().native;
    const used = Object.keys(calls).filter((k) => calls[k] > 0);
    // Convolutions with no bias or activation to fuse run as plain Conv2D (lib/tfjs/native-ops.ts).
    const conv = calls.Conv2D > 0 || calls.FusedConv2D > 0;
    assert.ok(conv && ['Conv2DBackpropFilter', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropFilter'].every((k) => calls[k] > 0), `native kernels ran: ${used.join(', ')}`);
    for (let i = 0; i < 3; i++) {
      assert.ok(Math.abs(native[i] - stock[i]) <= 1e-4 * Math.max(1, Math.abs(stock[i])), `step ${i}: native ${native[i]} vs stock ${stock[i]}`);
    }
    tf.dispose([x, y]);
    return `losses ${native.map((v) => v.toFixed(5)).join(', ')}, ${used.length} native kernels ran`;
  });

  await check('Predictor with the shipped ONNX model on an image made with sharp', async () => {
    // A face-ish picture: skin-coloured ellipse, two eyes and a mouth on a grey background.
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240">' +
        '<rect width="240" height="240" fill="#8a8f96"/>' +
        '<ellipse cx="120" cy="125" rx="70" ry="90" fill="#d9a77e"/>' +
        '<ellipse cx="92" cy="105" rx="12" ry="6" fill="#2b1d14"/><ellipse cx="148" cy="105" rx="12" ry="6" fill="#2b1d14"/>' +
        '<path d="M120 110 L112 150 L128 150 Z" fill="#c48d66"/>' +
        '<path d="M95 175 Q120 190 145 175" stroke="#8c3b3b" stroke-width="6" fill="none"/></svg>',
    );
    const image = await sharp(svg).png().toBuffer();
    const predictor = await acr.Predictor.load();
    try {
      const box = [45, 35, 150, 180];
      const { landmarks, box: used } = await predictor.predict(image, { box });
      assert.equal(landmarks.length, 2 * predictor.numLandmarks);
      assert.deepEqual(Array.from(used), box);
      assert.ok(Array.from(landmarks).every(Number.isFinite), 'finite landmarks');
      // Every point within the box widened by half its size (a sanity bound, not accuracy).
      for (let i = 0; i < landmarks.length; i += 2) {
        assert.ok(landmarks[i] > box[0] - box[2] / 2 && landmarks[i] < box[0] + 1.5 * box[2], `x${i / 2} = ${landmarks[i]}`);
        assert.ok(landmarks[i + 1] > box[1] - box[3] / 2 && landmarks[i + 1] < box[1] + 1.5 * box[3], `y${i / 2} = ${landmarks[i + 1]}`);
      }
      return `${predictor.numLandmarks} landmarks, first (${landmarks[0].toFixed(1)}, ${landmarks[1].toFixed(1)})`;
    } finally {
      await predictor.dispose();
    }
  });

  await check('no duplicate-tfjs warnings', () => {
    const bad = warnings.filter((w) => /already been set|already registered/i.test(w));
    assert.deepEqual(bad, []);
  });
  console.log('smoke: all checks passed');
}

main().catch((err) => {
  console.error(`smoke: FAIL ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
