/**
 * Fine-tuning: a new model takes every weight of a trained one, layer by layer name. The two
 * must be the same network (arch, width, head, input size, landmark count): every layer with
 * weights on either side has its namesake on the other with the same weight shapes, so a model
 * never starts half-copied. Layers without weights (dropout, pooling) may differ in settings.
 */
import type * as tf from '@tensorflow/tfjs';
import { ArgumentError, ShapeError } from '../errors';

/** Copies every weight of `source` into `target`; `sourceName` names the source in errors. Returns the weights copied. */
export function copyWeights(target: tf.LayersModel, source: tf.LayersModel, sourceName: string): number {
  const weighted = (m: tf.LayersModel) => new Map(m.layers.filter((l) => l.weights.length > 0).map((l) => [l.name, l]));
  const to = weighted(target), from = weighted(source);
  const same = 'the model must be built as the source was (arch, width, head, input size, landmark count)';
  for (const name of from.keys()) {
    if (!to.has(name)) throw new ArgumentError(`${sourceName}: its layer '${name}' has weights and no layer of this model has that name; ${same}`);
  }
  const plan: Array<[tf.layers.Layer, tf.Tensor[]]> = [];
  for (const [name, layer] of to) {
    const src = from.get(name);
    if (!src) throw new ArgumentError(`${sourceName}: no layer '${name}' (this model's layer with weights); ${same}`);
    const values = src.getWeights();
    const want = layer.weights.map((w) => w.shape);
    const got = values.map((t) => t.shape);
    if (JSON.stringify(want) !== JSON.stringify(got)) {
      throw new ShapeError(`${sourceName}: layer '${name}' has weights of shapes ${JSON.stringify(got)}, this model ${JSON.stringify(want)}; ${same}`);
    }
    plan.push([layer, values]);
  }
  let n = 0;
  for (const [layer, values] of plan) {
    layer.setWeights(values);
    n += values.length;
  }
  return n;
}
