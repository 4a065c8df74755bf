#!/usr/bin/env node
// Builds the prebuilt addon shipped in the npm package (run by `npm pack` / `npm publish` through
// the prepack script; prebuilds/ is not committed). CPU only (ACR_CUDA=OFF): the prebuilt must load
// on any x86-64 Linux with glibc, GPU or not. The baseline code is compiled for plain x86-64; the
// AVX2 / AVX-512 kernels are separate files chosen at run time (CMakeLists.txt). ACR_PORTABLE=ON
// links libstdc++ statically and binds old glibc symbol versions, so the binary needs only glibc.
// Output: prebuilds/<platform>-<arch>/acr_native.node and, beside it, prebuild.json (the facts the
// README states: size, glibc symbol versions, ISA).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { prebuiltPath, loadCheck } = require('./install');

const root = path.join(__dirname, '..');
const tag = `${process.platform}-${process.arch}`;
if (tag !== 'linux-x64') {
  // A package packed here would lack the linux-x64 prebuilt and make every user compile.
  const allow = process.env.ACR_PACK_WITHOUT_PREBUILT === '1';
  console.error(`prebuild: only linux-x64 prebuilts are made (this is ${tag}); ` +
    (allow ? 'packing without one (ACR_PACK_WITHOUT_PREBUILT=1)' : 'pack on linux-x64, or set ACR_PACK_WITHOUT_PREBUILT=1 to pack without it'));
  process.exit(allow ? 0 : 1);
}
const buildDir = path.join(root, 'build-prebuild');
fs.rmSync(buildDir, { recursive: true, force: true });
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'rebuild', '--out', buildDir, '--CDACR_CUDA=OFF', '--CDACR_PORTABLE=ON'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ACR_CUDA: 'OFF' },
});
if (r.status !== 0) {
  console.error('prebuild: cmake-js failed');
  process.exit(1);
}
checkIsa(buildDir);
const out = prebuiltPath(root);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.copyFileSync(path.join(buildDir, 'Release', 'acr_native.node'), out);
// Symbols are not needed to run; stripping roughly halves the file.
const strip = spawnSync('strip', ['--strip-unneeded', out], { stdio: 'inherit' });
if (strip.status !== 0) console.error('prebuild: strip failed; shipping the unstripped binary');
fs.rmSync(buildDir, { recursive: true, force: true });

const check = loadCheck(out);
if (!check.ok) {
  console.error(`prebuild: the prebuilt does not load: ${check.error}`);
  process.exit(1);
}
if (check.info.cudaCompiled) {
  console.error('prebuild: the prebuilt has CUDA compiled in; it must be CPU only');
  process.exit(1);
}

emulatedCpuCheck(out);

// Symbol versions the binary asks of the C library (and C++ runtime, which must be none).
const dyn = spawnSync('objdump', ['-T', out], { encoding: 'utf8' });
const versions = (re) => [...new Set((dyn.stdout || '').match(re) || [])].sort((a, b) => {
  const pa = a.split('_')[1].split('.').map(Number);
  const pb = b.split('_')[1].split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0);
  return 0;
});
const glibc = versions(/GLIBC_[0-9.]+/g);
const glibcxx = versions(/(GLIBCXX|CXXABI)_[0-9.]+/g);
if (glibcxx.length > 0) {
  console.error(`prebuild: the prebuilt needs the system libstdc++ (${glibcxx.join(', ')}); it should link it statically`);
  process.exit(1);
}
const facts = {
  file: path.relative(root, out),
  bytes: fs.statSync(out).size,
  glibcMin: glibc[glibc.length - 1] || null,
  cuda: false,
  isaDetectedOnBuildMachine: check.info.isaDetected,
  node: process.version,
  napi: 8,
};
fs.writeFileSync(path.join(path.dirname(out), 'prebuild.json'), JSON.stringify(facts, null, 2) + '\n');
console.error(`prebuild: ${facts.file}, ${(facts.bytes / 1e6).toFixed(2)} MB, needs ${facts.glibcMin}, CPU only`);

/**
 * The prebuilt must run on any x86-64: only the *_avx2 / *_avx512 objects may hold AVX code (the
 * addon picks them at run time). Checks that no other object has an AVX instruction, and that each
 * inline function emitted both in an AVX object and in another (the linker keeps one copy, which
 * the baseline code then calls) was kept without AVX instructions.
 */
function checkIsa(dir) {
  const AVX = /\t(v[a-z0-9]+|kmov[a-z]*)[ \t]|%[yz]mm/;
  const objects = [];
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.o')) objects.push(p);
  });
  walk(path.join(dir, 'CMakeFiles'));
  const isAvx = (f) => /_avx(2|512)\.cc\.o$/.test(f);
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`prebuild: ${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
    return r.stdout;
  };
  const avxLines = (file, sym) => run('objdump', ['-d', '--no-show-raw-insn', ...(sym ? [`--disassemble=${sym}`] : []), file])
    .split('\n').filter((l) => AVX.test(l)).length;
  const weak = (file) => run('nm', [file]).split('\n').map((l) => l.trim().split(/\s+/)).filter((c) => c[1] === 'W' || c[1] === 'V').map((c) => c[2]);
  const bad = [];
  const baseline = objects.filter((f) => !isAvx(f));
  for (const f of baseline) {
    const n = avxLines(f);
    if (n > 0) bad.push(`${path.relative(dir, f)}: ${n} AVX instructions`);
  }
  const baseWeak = new Set(baseline.flatMap(weak));
  const shared = [...new Set(objects.filter(isAvx).flatMap(weak))].filter((s) => baseWeak.has(s));
  const linked = path.join(dir, 'Release', 'acr_native.node');
  for (const s of shared) {
    const n = avxLines(linked, s);
    if (n > 0) bad.push(`${s} (inline, emitted in AVX and baseline objects): the linked copy has ${n} AVX instructions`);
  }
  if (bad.length > 0) {
    console.error(`prebuild: the prebuilt would not run on every x86-64 CPU:\n  ${bad.join('\n  ')}`);
    process.exit(1);
  }
  console.error(`prebuild: ISA check passed: ${baseline.length} baseline objects without AVX instructions, ${shared.length} shared inline functions kept without AVX`);
}

/**
 * Where qemu-x86_64 is installed (Debian: qemu-user), runs the prebuilt on emulated CPUs without
 * AVX (Nehalem) and without AVX-512 (Haswell): it must load, pick scalar / avx2, and compute the
 * same loss and eigenvalues as natively. An AVX instruction outside the dispatched kernels would
 * stop it with SIGILL there. Skipped, with a line saying so, where qemu is absent.
 */
function emulatedCpuCheck(file) {
  const code = `const b = require(${JSON.stringify(file)}); const n = 4 * 136;
    const pred = new Float32Array(n).map((_, k) => Math.sin(k)), gt = new Float32Array(n), phi = new Float32Array(n).fill(0.5);
    const loss = b.acrLossAndGrad(pred, gt, phi, null, 4, 136, 1, 0.5, 'continuous', 'cpu', 'mean', 1, null, null, new Float32Array(n));
    const vals = new Float64Array(3); b.asmEigh(Float64Array.from([4, 1, 0, 1, 3, 0, 0, 0, 2]), 3, vals, new Float64Array(9));
    process.stdout.write(JSON.stringify({ isa: b.info().isa, loss, vals: Array.from(vals) }));`;
  const native = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  const probe = spawnSync('qemu-x86_64', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    console.error('prebuild: qemu-x86_64 not found; the emulated-CPU check (no AVX, no AVX-512) is skipped');
    return;
  }
  const want = JSON.parse(native.stdout);
  for (const [cpu, isa] of [['Nehalem', 'scalar'], ['Haswell', 'avx2']]) {
    const r = spawnSync('qemu-x86_64', ['-cpu', cpu, process.execPath, '-e', code], { encoding: 'utf8', timeout: 600000 });
    let got;
    try {
      got = JSON.parse(r.stdout);
    } catch {
      console.error(`prebuild: the prebuilt fails on an emulated ${cpu} (status ${r.status}, signal ${r.signal}): ${(r.stderr || '').split('\n').filter((l) => !/warning: TCG/.test(l)).join(' ').slice(0, 300)}`);
      process.exit(1);
    }
    const close = Math.abs(got.loss - want.loss) <= 1e-5 * Math.abs(want.loss) && got.vals.every((v, i) => Math.abs(v - want.vals[i]) < 1e-9);
    if (got.isa !== isa || !close) {
      console.error(`prebuild: on an emulated ${cpu} the prebuilt ran ${got.isa} (expected ${isa}) with ${JSON.stringify(got)} vs native ${JSON.stringify(want)}`);
      process.exit(1);
    }
  }
  console.error('prebuild: emulated CPUs passed: Nehalem (no AVX) ran scalar, Haswell (no AVX-512) ran avx2, same results as native');
}
