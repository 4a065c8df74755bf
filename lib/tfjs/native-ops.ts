/**
 * Op-level routes that spare tfjs work the native kernels cannot: tfjs-layers and tfjs' own
 * gradients call ops whose stock implementation does more than the result needs.
 *
 * Plain convolutions where tfjs-layers asks for fused ones. Every Conv2D layer calls
 * tf.fused.conv2d, whose gradient (a customGrad) computes the input gradient and the filter
 * gradient together, eagerly, and keeps the output alive until the backward pass. With no bias
 * and no activation to fuse (MobileNetV2's convolutions: BatchNormalization follows) that is
 * the plain Conv2D kernel, whose registered gradient is lazy: the tape then skips the input
 * gradient where no variable needs it (the first layer's, a full-resolution backprop-input per
 * step) and saves only x and the filter. Same kernels, so the results are bit-identical.
 *
 * Mean's gradient (global average pooling) without the ones(x.shape) tfjs fills element by
 * element in JS (2.4 ms per step for MobileNetV2 x0.5/112 at batch 32): dy - 0 broadcast to x's
 * shape is exactly dy * 1 (-0 included), and both the subtraction and the division run natively.
 * Bit-identical too (test/nn-native-ops.test.ts).
 */
import * as tf from '@tensorflow/tfjs';

type FusedConv2dArgs = Parameters<typeof tf.fused.conv2d>[0];
type FusedConv2d = typeof tf.fused.conv2d;

/** Fused convolutions run as plain ones (count), for nativeKernelStats. */
export const opCalls = { plainConv2d: 0 };

let original: FusedConv2d | null = null;

function plainConv2d(fused: FusedConv2d): FusedConv2d {
  return ((args: FusedConv2dArgs) => {
    const linear = args.activation == null || args.activation === 'linear';
    if (args.bias != null || !linear || args.preluActivationWeights != null || tf.getBackend() !== 'cpu') return fused(args);
    opCalls.plainConv2d++;
    return tf.conv2d(args.x as tf.Tensor4D, args.filter, args.strides, args.pad, args.dataFormat ?? 'NHWC',
      args.dilations ?? [1, 1], args.dimRoundingMode);
  }) as FusedConv2d;
}

const meanGrad: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
    const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const reduceSize = axes.reduce((p, a) => p * x.shape[a], 1);
    return { x: () => tf.div(tf.sub(tf.reshape(dy as tf.Tensor, expanded), tf.zeros(x.shape)), reduceSize) };
  },
};
let originalMeanGrad: tf.GradConfig | undefined;

/** Installs (true) or removes (false) the plain-convolution routing and the Mean gradient. */
export function patchOps(on: boolean): void {
  const ops = tf.fused as { conv2d: FusedConv2d };
  if (on && !original) {
    original = ops.conv2d;
    ops.conv2d = plainConv2d(original);
    originalMeanGrad = tf.getGradient('Mean');
    tf.registerGradient(meanGrad);
  } else if (!on && original) {
    ops.conv2d = original;
    original = null;
    if (originalMeanGrad) tf.registerGradient(originalMeanGrad);
    else tf.unregisterGradient('Mean');
    originalMeanGrad = undefined;
  }
}
