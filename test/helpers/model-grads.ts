/** A model's training-mode output, MSE loss and weight gradients, read out for bitwise comparisons. */
import * as tf from '@tensorflow/tfjs';

export interface ModelGrads { loss: number; out: Float32Array; grads: Float32Array[] }

/** One training-mode forward of `model` on x and the gradient of every trainable weight; the tensors are disposed. */
export function trainingGrads(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): ModelGrads {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let out: Float32Array | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const p = model.apply(x, { training: true }) as tf.Tensor;
    out = p.dataSync().slice() as Float32Array;
    return tf.losses.meanSquaredError(y, p) as tf.Scalar;
  }, vars);
  const r = { loss: value.dataSync()[0], out: out!, grads: vars.map((v) => grads[v.name].dataSync().slice() as Float32Array) };
  tf.dispose([value, ...Object.values(grads)]);
  return r;
}
