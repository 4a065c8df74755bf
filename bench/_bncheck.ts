import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../lib/tfjs/io';
import { useNativeKernels } from '../lib/index';
import { openDataset } from '../lib/train/folder-data';
import { resolveTrainConfig } from '../lib/train/config';
import { validationNme } from '../lib/train/defaults';
(async () => {
  await tf.setBackend('cpu'); useNativeKernels(true);
  const run = process.argv[2];
  const cfg = resolveTrainConfig({ ...JSON.parse(require('fs').readFileSync(run + '/config.json', 'utf8')), resume: false, workers: 0 });
  const data = await openDataset(cfg);
  const m = await loadModel(run + '/checkpoints/latest');
  for (const training of [false, true]) {
    const preds: number[] = [], gts: number[] = [];
    for await (const b of data.val.epoch(0, 0)) {
      const y = tf.tidy(() => m.apply(tf.tensor4d(b.images, [b.batchSize, b.size, b.size, 3]), { training }) as tf.Tensor);
      preds.push(...y.dataSync()); gts.push(...b.landmarks); y.dispose();
    }
    const per = validationNme(Float32Array.from(preds), Float32Array.from(gts), 68);
    console.log(training ? 'batch-stats' : 'moving-stats', (100 * per.reduce((a, b) => a + b, 0) / per.length).toFixed(2));
  }
  await data.train.close?.(); await data.val.close?.();
})();
