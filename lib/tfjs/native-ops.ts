/**
 * Plain convolutions where tfjs-layers asks for fused ones. Every Conv2D layer calls
 * tf.fused.conv2d, whose gradient (a customGrad) computes the input gradient and the filter
 * gradient together, eagerly, and keeps the output alive until the backward pass. With no bias
 * and no activation to fuse (MobileNetV2's convolutions: BatchNormalization follows) that is
 * the plain Conv2D kernel, whose registered gradient is lazy: the tape then skips the input
 * gradient where no variable needs it (the first layer's, a full-resolution backprop-input per
 * step) and saves only x and the filter. Same kernels, so the results are bit-identical
 * (test/nn-plain-conv.test.ts).
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

/** Installs (true) or removes (false) the plain-convolution routing. */
export function patchOps(on: boolean): void {
  const ops = tf.fused as { conv2d: FusedConv2d };
  if (on && !original) {
    original = ops.conv2d;
    ops.conv2d = plainConv2d(original);
  } else if (!on && original) {
    ops.conv2d = original;
    original = null;
  }
}
