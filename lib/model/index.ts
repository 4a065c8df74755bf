/** Model builders by name, so configs and the CLI can pick one with a string. */
import type * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../errors';
import * as v from '../validate';
import { mobileNetV1, type InitName, type V1HeadName } from './mobilenetv1';
import { mobileNetV2 } from './mobilenetv2';
import { tinyCnn } from './tiny';

import type { HeadName } from './mobilenetv2';
export { mobileNetV2, mobileNetV2Backbone, makeDivisible, HEADS } from './mobilenetv2';
export type { MobileNetV2Options, HeadName } from './mobilenetv2';
export { mobileNetV1, readFaceDetectorWeights, INITS, V1_HEADS } from './mobilenetv1';
export type { MobileNetV1Options, InitName, V1HeadName } from './mobilenetv1';
export { tinyCnn } from './tiny';
export type { TinyCnnOptions } from './tiny';

export const ARCHITECTURES = ['mobilenetv2', 'mobilenetv1', 'tiny'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface ModelSpec {
  arch: Architecture;
  inputSize: number;
  /** MobileNetV2 width multiplier; for 'tiny', the first stage's channel count / 8. */
  width: number;
  numLandmarks: number;
  dropout: number;
  seed: number;
  /** Regression head (default 'gap'): MobileNetV2 takes every HEADS entry, MobileNetV1 'gap' or 'gdconv', tiny 'gap' only. */
  head?: HeadName;
  /** Backbone weights (default 'random'); 'face-detector' (face-api's SSD backbone) needs 'mobilenetv1' x1.0. */
  init?: InitName;
}

export function buildModel(spec: ModelSpec): tf.LayersModel {
  const arch = v.oneOf('arch', spec.arch, ARCHITECTURES);
  if (arch !== 'mobilenetv1' && (spec.init ?? 'random') !== 'random') throw new ArgumentError(`init: '${spec.init}' needs arch 'mobilenetv1', got '${arch}'`);
  if (arch === 'tiny' && (spec.head ?? 'gap') !== 'gap') throw new ArgumentError(`head: '${spec.head}' needs arch 'mobilenetv2' or 'mobilenetv1', got 'tiny'`);
  switch (arch) {
    case 'mobilenetv2':
      return mobileNetV2(spec);
    case 'mobilenetv1':
      // mobileNetV1 checks the head against its own list ('multiscale' is MobileNetV2's only).
      return mobileNetV1({ ...spec, head: spec.head as V1HeadName | undefined });
    case 'tiny':
      return tinyCnn({ ...spec, channels: Math.max(1, Math.round(8 * spec.width)) });
  }
}
