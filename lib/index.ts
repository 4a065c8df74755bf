/** acr-loss: the public surface. */
export * from './errors';
export { info, setNumThreads, setIsa } from './info';
export type { NativeInfo } from './info';
// ---- loss family ----
export { acrLoss, acrLossComposite } from './loss';
export type { AcrLossOpOptions } from './loss';
export { l1Loss, l2Loss, smoothL1Loss, wingLoss, softWingLoss, adaptiveWingLoss } from './losses';
export type { BaselineOptions, SmoothL1Options, WingOptions, SoftWingOptions, AdaptiveWingOptions } from './losses';
export type { Reduction, AcrConstant, AcrParams, AcrLossOptions, BaseLossOptions, LossResult, LossDevice } from './kernels/loss';
// ---- end loss family ----
export * as data from './data';
export * as evaluation from './eval';
export {
  useNativeKernels, nativeKernelsEnabled, nativeKernelStats, resetNativeKernelStats, NATIVE_KERNEL_NAMES,
} from './tfjs/native-kernels';
export type { NativeKernelStats } from './tfjs/native-kernels';
