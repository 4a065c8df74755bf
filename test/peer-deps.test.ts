// The optional peers (onnxruntime-node, @tensorflow/tfjs-backend-wasm) missing: typed errors that
// say what to install and how. Their resolution is made to fail in this process only.
import t from 'tap';
import Module from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { Predictor } from '../lib/onnx/predictor';
import { detectFaces } from '../lib/onnx/detect';

const HIDDEN = new Set(['onnxruntime-node', '@tensorflow/tfjs-backend-wasm']);
const M = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
const resolve = M._resolveFilename;
M._resolveFilename = function (request: string, ...rest: unknown[]) {
  if (HIDDEN.has(request)) {
    const err = new Error(`Cannot find module '${request}'`) as NodeJS.ErrnoException;
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
t.teardown(() => {
  M._resolveFilename = resolve;
});

t.test('Predictor without onnxruntime-node: ERR_UNSUPPORTED naming the install and the skip variable', async (t) => {
  await t.rejects(Predictor.load(), {
    code: 'ERR_UNSUPPORTED',
    message: /optional peer dependency.*npm install onnxruntime-node@1\.30\.0.*ONNXRUNTIME_NODE_INSTALL=skip.*not installed/,
  });
});

t.test('face detection without the wasm backend: ERR_UNSUPPORTED naming the matching version', async (t) => {
  const image = { data: new Uint8Array(8 * 8 * 3), width: 8, height: 8, channels: 3 as const };
  await t.rejects(detectFaces(image), {
    code: 'ERR_UNSUPPORTED',
    message: new RegExp(`npm install @tensorflow/tfjs-backend-wasm@${tf.version_core.replace(/\./g, '\\.')}`),
  });
});

t.test('tfjs, its wasm backend and onnxruntime-node are peers, not dependencies', async (t) => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const pkg = require('../package.json');
  for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'onnxruntime-node']) {
    t.notOk(pkg.dependencies[name], `${name} is not a dependency (a second copy beside the user's)`);
    t.ok(pkg.peerDependencies[name], `${name} is a peer`);
    t.match(pkg.devDependencies[name], /^\d+\.\d+\.\d+$/, `${name} is pinned for the clone`);
  }
  t.notOk(pkg.peerDependenciesMeta['@tensorflow/tfjs']?.optional, 'tfjs is a required peer');
  t.ok(pkg.peerDependenciesMeta['onnxruntime-node'].optional);
});
