/** acr-loss: the public surface. */
export * from './errors';
export { info, setNumThreads, setIsa } from './info';
export type { NativeInfo } from './info';
export {
  useNativeKernels, nativeKernelsEnabled, nativeKernelStats, resetNativeKernelStats, NATIVE_KERNEL_NAMES,
} from './tfjs/native-kernels';
export type { NativeKernelStats } from './tfjs/native-kernels';
