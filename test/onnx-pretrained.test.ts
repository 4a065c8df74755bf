import t from 'tap';
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { Predictor } from '../lib/onnx/predictor';
import { MODELS_DIR, PRETRAINED_NAME, pretrainedModelPath, pretrainedTfjsDir } from '../lib/onnx/pretrained';
import { loadModel } from '../lib/tfjs/io';
import { randomImages } from './helpers/onnx-nets';

const SHIPPED = fs.existsSync(`${MODELS_DIR}/${PRETRAINED_NAME}.onnx`);

t.test('the shipped model: ONNX and tfjs weights agree, metadata complete, size budget', { skip: SHIPPED ? false : `no shipped model ${PRETRAINED_NAME} in ${MODELS_DIR} yet` }, async (t) => {
  const onnxFile = pretrainedModelPath();
  await tf.setBackend('cpu');
  const predictor = await Predictor.load(onnxFile);
  const model = await loadModel(pretrainedTfjsDir());
  const size = predictor.inputSize;
  t.equal(model.inputs[0].shape[1], size);
  for (const batch of [1, 3]) {
    const x = randomImages(batch, size, batch);
    const ref = tf.tidy(() => (model.predict(tf.tensor4d(x, [batch, size, size, 3])) as tf.Tensor).dataSync());
    const out = await predictor.run(x, batch);
    let diff = 0;
    for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(ref[i] - out[i]));
    // Both copies hold float16 weights, but the ONNX graph folds each BatchNorm into its conv
    // before rounding, so they agree to float16 precision, not bit for bit: 4.5e-4 measured on
    // these noise images (0.07 px of the 160 px crop); the bound is 3e-3 (0.5 px). A wrong weight
    // or layer is O(0.1). On the 202 held-out faces the float16 tfjs copy scores the float32
    // checkpoint's NME to the third decimal (docs/results.md).
    t.ok(diff < 3e-3, `batch ${batch}: max abs diff ${diff}`);
  }
  t.ok(predictor.metadata.loss !== '' && predictor.metadata.data !== '', 'training loss and data recorded');
  t.ok(fs.existsSync(`${MODELS_DIR}/${PRETRAINED_NAME}.md`), 'model card present');
  let bytes = 0;
  for (const f of fs.readdirSync(MODELS_DIR, { recursive: true }) as string[]) {
    const st = fs.statSync(`${MODELS_DIR}/${f}`);
    if (st.isFile()) bytes += st.size;
  }
  t.ok(bytes <= 20e6, `models/ holds ${(bytes / 1e6).toFixed(1)} MB (<= 20 MB)`);
  model.dispose();
  await predictor.dispose();
});
