import t from 'tap';
import * as acr from '../lib/index';

t.test('the public surface has what the README documents', async (t) => {
  for (const name of ['fitAsm', 'AsmModel', 'schedule', 'acrLoss', 'l1Loss', 'l2Loss', 'smoothL1Loss', 'wingLoss',
    'softWingLoss', 'adaptiveWingLoss', 'info', 'setNumThreads', 'useNativeKernels', 'train', 'exportOnnx',
    'Predictor', 'AcrError'] as const) {
    t.type((acr as Record<string, unknown>)[name], 'function', name);
  }
  for (const name of ['acrLossAndGrad', 'l2LossAndGrad', 'asmMeanCov', 'asmEigh', 'asmSmooth', 'asmPhi', 'sgemm'] as const) {
    t.type((acr.kernels as Record<string, unknown>)[name], 'function', `kernels.${name}`);
  }
  t.type(acr.data.loadDataset, 'function');
  t.type(acr.evaluation, 'object');
});

t.test('kernels.acrLossAndGrad matches the formula on a hand-worked case', async (t) => {
  // d = (0.1, -0.2), phi = (0, 1): mean of ln(1 + 0.01) and ln(1 + 0.2);
  // grads 2 * 0.1 / 1.01 / 2 and -1 / 1.2 / 2.
  const r = acr.kernels.acrLossAndGrad(new Float32Array([0.1, -0.2]), new Float32Array(2), new Float32Array([0, 1]));
  t.ok(Math.abs(r.loss - (Math.log(1.01) + Math.log(1.2)) / 2) < 1e-6, `loss ${r.loss}`);
  t.ok(Math.abs(r.grad![0] - 0.1 / 1.01) < 1e-6);
  t.ok(Math.abs(r.grad![1] + 1 / 2.4) < 1e-6);
});
