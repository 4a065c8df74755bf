/** Backend setup shared by the commands that run a network: cpu backend, threads, native kernels. */
import * as tf from '@tensorflow/tfjs';
import { setNumThreads } from '../info';
import { useNativeKernels } from '../tfjs/native-kernels';

export interface BackendOptions {
  threads?: number;
  /** The addon's conv/BN/ReLU6 kernels for the tfjs cpu backend (stock tfjs is far too slow to train). */
  nativeKernels: boolean;
}

export async function setupBackend(o: BackendOptions): Promise<void> {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  if (o.threads !== undefined) setNumThreads(o.threads);
  useNativeKernels(o.nativeKernels);
}
