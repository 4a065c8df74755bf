/**
 * `kernels`: the raw native calls on typed arrays, for users outside TensorFlow.js and for the
 * benchmarks. Each validates its arguments before the native call.
 *   - loss: acrLossAndGrad, l2LossAndGrad, l1LossAndGrad, bandwidthCopy/Read
 *   - asm:  asmMeanCov, asmEigh, asmSmooth, asmPhi
 *   - nn:   sgemm and the GEMM micro-kernel controls
 */
export * from './loss';
export * from './asm';
export * from './nn';
