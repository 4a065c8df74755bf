// The install script (scripts/install.js: prebuilt when it loads, else a cmake-js source build) and
// the loader's search order and errors (lib/binding.ts).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadNative, nativeCandidates } from '../lib/binding';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const install = require('../scripts/install.js') as {
  prebuiltPath(root: string): string;
  decide(env: Record<string, string | undefined>, root: string, exists?: (p: string) => boolean): { action: string; reason: string };
  loadCheck(file: string): { ok: boolean; info?: { isa: string }; error?: string };
};

const ROOT = path.join(__dirname, '..');
const BUILT = path.join(ROOT, 'build', 'Release', 'acr_native.node');

/** A fresh folder inside the repository (so cmake-js resolves from its node_modules), removed after t. */
function tmpDir(t: Tap.Test): string {
  const base = path.join(ROOT, '.tap');
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, 'install-script-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A package-like folder with a working, broken or no prebuilt. */
function fakePackage(t: Tap.Test, prebuilt: 'none' | 'good' | 'broken'): string {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"fake"}');
  if (prebuilt !== 'none') {
    const file = install.prebuiltPath(dir);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (prebuilt === 'good') fs.copyFileSync(BUILT, file);
    else fs.writeFileSync(file, 'not an ELF file');
  }
  return dir;
}

t.test('decide: prebuilt by default, source where asked or where there is none', async (t) => {
  const has = () => true;
  const none = () => false;
  const root = '/pkg/node_modules/acr-loss';
  const dep = { npm_package_json: `${root}/package.json`, npm_config_local_prefix: '/pkg' };
  t.equal(install.decide(dep, root, has).action, 'prebuilt');
  t.equal(install.decide({}, root, has).action, 'prebuilt', 'outside npm too');
  t.match(install.decide(dep, root, none), { action: 'source', reason: /no prebuilt for/ });
  t.match(install.decide({ ...dep, ACR_BUILD_FROM_SOURCE: '1' }, root, has), { action: 'source', reason: /ACR_BUILD_FROM_SOURCE/ });
  t.match(install.decide({ ...dep, npm_config_build_from_source: 'true' }, root, has), { action: 'source', reason: /--build-from-source/ });
  t.match(install.decide({ ...dep, ACR_CUDA: 'on' }, root, has), { action: 'source', reason: /CUDA/ });
  t.equal(install.decide({ ...dep, ACR_CUDA: 'OFF' }, root, has).action, 'prebuilt');
  t.equal(install.decide({ ...dep, ACR_BUILD_FROM_SOURCE: '0' }, root, has).action, 'prebuilt');
  t.match(install.decide({ npm_package_json: `${root}/package.json`, npm_config_local_prefix: root }, root, has), {
    action: 'source',
    reason: /top-level project/,
  });
  t.equal(install.decide({ ...dep, ACR_SKIP_INSTALL: '1', ACR_BUILD_FROM_SOURCE: '1' }, root, has).action, 'skip');
});

t.test('loadCheck: a real addon loads, a broken file does not (in a child process)', async (t) => {
  const ok = install.loadCheck(BUILT);
  t.ok(ok.ok, ok.error);
  t.match(ok.info!.isa, /^(scalar|avx2|avx512)$/);
  const dir = fakePackage(t, 'broken');
  const bad = install.loadCheck(install.prebuiltPath(dir));
  t.notOk(bad.ok);
  t.match(bad.error!, /invalid ELF header|too short|not an ELF/i);
});

/** Runs scripts/install.js's main for `root`, with a cmake that always fails first on PATH. */
function runInstall(t: Tap.Test, root: string, env: Record<string, string> = {}) {
  const bin = tmpDir(t);
  fs.writeFileSync(path.join(bin, 'cmake'), '#!/bin/sh\necho "fake cmake: exit 1" >&2\nexit 1\n', { mode: 0o755 });
  const code = `process.exitCode = require(${JSON.stringify(path.join(ROOT, 'scripts', 'install.js'))}).main(process.env, ${JSON.stringify(root)});`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && !k.startsWith('ACR_')));
  return spawnSync(process.execPath, ['-e', code], {
    encoding: 'utf8',
    env: { ...clean, PATH: `${bin}${path.delimiter}${process.env.PATH}`, ...env },
    timeout: 120_000,
  });
}

t.test('install: a prebuilt that loads is used and nothing is compiled', async (t) => {
  const r = runInstall(t, fakePackage(t, 'good'));
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /using the prebuilt addon prebuilds\/linux-x64\/acr_native\.node/);
  t.notMatch(r.stderr, /fake cmake/);
});

t.test('install: a prebuilt that does not load falls back to cmake-js; without cmake that fails and says what is needed', async (t) => {
  const r = runInstall(t, fakePackage(t, 'broken'));
  t.not(r.status, 0);
  t.match(r.stderr, /the prebuilt addon does not load here/);
  t.match(r.stderr, /cmake >= 3\.18 and a C\+\+17 compiler/);
  const forced = runInstall(t, fakePackage(t, 'good'), { ACR_BUILD_FROM_SOURCE: '1' });
  t.not(forced.status, 0, 'ACR_BUILD_FROM_SOURCE=1 ignores the prebuilt');
  t.match(forced.stderr, /building the native addon from source \(ACR_BUILD_FROM_SOURCE is set\)/);
});

t.test('loader: build/ before prebuilds/, ACR_NATIVE_PATH overrides, errors say what to do', async (t) => {
  const c = nativeCandidates('/p', {});
  t.same(c.map((p) => path.relative('/p', p)), [
    path.join('build', 'Release', 'acr_native.node'),
    path.join('build', 'Debug', 'acr_native.node'),
    path.join('prebuilds', `${process.platform}-${process.arch}`, 'acr_native.node'),
  ]);
  t.same(nativeCandidates('/p', { ACR_NATIVE_PATH: '/x/a.node' }), ['/x/a.node']);

  const dir = fakePackage(t, 'broken');
  const broken = install.prebuiltPath(dir);
  const missing = path.join(dir, 'nope.node');
  t.throws(() => loadNative([missing]), {
    code: 'ERR_NATIVE',
    message: /not found \(looked in .*nope\.node\).*cmake >= 3\.18 and a C\+\+17 compiler.*ACR_BUILD_FROM_SOURCE=1/,
  });
  t.throws(() => loadNative([missing, broken]), { code: 'ERR_NATIVE', message: /acr_native\.node failed to load: .*--ignore-scripts/ });
  const b = loadNative([missing, broken, BUILT]);
  t.type(b.info, 'function', 'a later candidate is used when an earlier one fails to load');
});
