import { call, NativeInfo } from './binding';
import { nativeKernelStats, NativeKernelStats } from './tfjs/native-kernels';
import * as v from './validate';

export type { NativeInfo };

export interface AcrInfo extends NativeInfo {
  /** The native tfjs kernels (`useNativeKernels`): on or off, calls served natively and handed back to stock. */
  nativeKernels: NativeKernelStats;
}

/** What the addon was built with and what runs now: SIMD level, threads, CUDA, GPUs, native tfjs kernels. */
export function info(): AcrInfo {
  return { ...call((b) => b.info()), nativeKernels: nativeKernelStats() };
}

/** Sets the size of the addon's thread pool (0 restores the default: ACR_NUM_THREADS or the core count). */
export function setNumThreads(n: number): number {
  v.integer('n', n, 0, 256);
  return call((b) => b.setNumThreads(n));
}

/** Caps the instruction set the CPU kernels use (for tests and benchmarks); returns the level in force. */
export function setIsa(isa: 'scalar' | 'avx2' | 'avx512'): string {
  v.oneOf('isa', isa, ['scalar', 'avx2', 'avx512'] as const);
  return call((b) => b.setIsa(isa));
}
