#!/usr/bin/env node
// The package's install script. Uses the prebuilt addon (prebuilds/<platform>-<arch>/, CPU kernels,
// shipped in the npm package) when it loads on this machine; otherwise compiles from source with
// cmake-js (cmake >= 3.18 and a C++17 compiler; the CUDA kernels too when nvcc is found).
//
// Source builds are forced by ACR_BUILD_FROM_SOURCE=1 (or npm's --build-from-source), by
// ACR_CUDA=ON (the prebuilt has no CUDA kernels), and in the package's own checkout (`npm install`
// in a clone of the repository: the developer's native code must be what runs).
// ACR_SKIP_INSTALL=1 does nothing at all (the loader then says what to do).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

/** Where the prebuilt for this platform lives (or would). */
function prebuiltPath(root = ROOT, platform = process.platform, arch = process.arch) {
  return path.join(root, 'prebuilds', `${platform}-${arch}`, 'acr_native.node');
}

const truthy = (v) => v !== undefined && /^(1|true|on|yes)$/i.test(String(v));

/**
 * What to do: { action: 'skip' | 'prebuilt' | 'source', reason }. Pure apart from existsSync, so
 * it is tested on its own (test/install-script.test.ts).
 */
function decide(env, root = ROOT, exists = fs.existsSync) {
  if (truthy(env.ACR_SKIP_INSTALL)) return { action: 'skip', reason: 'ACR_SKIP_INSTALL is set' };
  if (truthy(env.ACR_BUILD_FROM_SOURCE)) return { action: 'source', reason: 'ACR_BUILD_FROM_SOURCE is set' };
  if (truthy(env.npm_config_build_from_source)) return { action: 'source', reason: '--build-from-source was given' };
  if (String(env.ACR_CUDA || '').toUpperCase() === 'ON') {
    return { action: 'source', reason: 'ACR_CUDA=ON (the prebuilt has no CUDA kernels)' };
  }
  // npm sets these for lifecycle scripts; equal when the package is the top-level project (a clone).
  const pkgJson = env.npm_package_json;
  const localPrefix = env.npm_config_local_prefix;
  if (pkgJson && localPrefix && path.resolve(path.dirname(pkgJson)) === path.resolve(localPrefix)) {
    return { action: 'source', reason: 'the package is the top-level project (a development checkout)' };
  }
  const file = prebuiltPath(root);
  if (!exists(file)) return { action: 'source', reason: `no prebuilt for ${process.platform}-${process.arch}` };
  return { action: 'prebuilt', reason: file };
}

/**
 * Loads the addon in a child process (an illegal instruction or a missing glibc symbol must not
 * take the install down) and returns { ok, info } or { ok: false, error }.
 */
function loadCheck(file) {
  const code = `const b = require(${JSON.stringify(file)}); process.stdout.write(JSON.stringify(b.info()));`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60000 });
  if (r.status === 0) {
    try {
      return { ok: true, info: JSON.parse(r.stdout) };
    } catch (err) {
      return { ok: false, error: `unexpected output ${JSON.stringify(r.stdout.slice(0, 200))}` };
    }
  }
  const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : (r.stderr || '').trim().split('\n').find((l) => /Error|error/.test(l)) || `exit ${r.status}`;
  return { ok: false, error: why };
}

const HELP =
  'acr-loss: building the native addon from source needs cmake >= 3.18 and a C++17 compiler (g++ or clang++)\n' +
  '  (Debian/Ubuntu: apt-get install cmake g++). The prebuilt binary in prebuilds/ covers linux-x64 with\n' +
  '  glibc >= 2.34 and needs no compiler; see "Install" in the README of acr-loss.';

function buildFromSource(root = ROOT, env = process.env) {
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  } catch (err) {
    console.error(`acr-loss: cmake-js is not installed (${err.message.split('\n')[0]})\n${HELP}`);
    return 1;
  }
  const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`acr-loss: the source build failed (cmake-js exit ${r.status ?? r.signal}).\n${HELP}`);
    return r.status || 1;
  }
  return 0;
}

function main(env = process.env, root = ROOT) {
  const d = decide(env, root);
  if (d.action === 'skip') {
    console.error(`acr-loss: install script skipped (${d.reason})`);
    return 0;
  }
  if (d.action === 'prebuilt') {
    const check = loadCheck(d.reason);
    if (check.ok) {
      console.error(`acr-loss: using the prebuilt addon ${path.relative(root, d.reason)} (CPU kernels, ${check.info.isa}; ACR_BUILD_FROM_SOURCE=1 builds from source, with CUDA where nvcc is found)`);
      return 0;
    }
    console.error(`acr-loss: the prebuilt addon does not load here (${check.error}); building from source`);
  } else {
    console.error(`acr-loss: building the native addon from source (${d.reason})`);
  }
  return buildFromSource(root, env);
}

module.exports = { prebuiltPath, decide, loadCheck, buildFromSource, main };

if (require.main === module) process.exitCode = main();
