/** Model builders by name, so configs and the CLI can pick one with a string. */
import type * as tf from '@tensorflow/tfjs';
import * as v from '../validate';
import { mobileNetV2 } from './mobilenetv2';
import { tinyCnn } from './tiny';

import type { HeadName } from './mobilenetv2';
export { mobileNetV2, mobileNetV2Backbone, makeDivisible, HEADS } from './mobilenetv2';
export type { MobileNetV2Options, HeadName } from './mobilenetv2';
export { tinyCnn } from './tiny';
export type { TinyCnnOptions } from './tiny';

export const ARCHITECTURES = ['mobilenetv2', 'tiny'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface ModelSpec {
  arch: Architecture;
  inputSize: number;
  /** MobileNetV2 width multiplier; for 'tiny', the first stage's channel count / 8. */
  width: number;
  numLandmarks: number;
  dropout: number;
  seed: number;
  /** MobileNetV2's regression head (default 'gap'); other architectures have one head. */
  head?: HeadName;
}

export function buildModel(spec: ModelSpec): tf.LayersModel {
  switch (v.oneOf('arch', spec.arch, ARCHITECTURES)) {
    case 'mobilenetv2':
      return mobileNetV2(spec);
    case 'tiny':
      return tinyCnn({ ...spec, channels: Math.max(1, Math.round(8 * spec.width)) });
  }
}
