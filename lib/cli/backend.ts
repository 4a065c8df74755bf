/** Backend setup shared by the commands that run a network: cpu backend, threads, native kernels. */
import * as tf from '@tensorflow/tfjs';
import { setNumThreads } from '../info';

export interface BackendOptions {
  threads?: number;
  nativeKernels: boolean;
}

export async function setupBackend(o: BackendOptions): Promise<void> {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  if (o.threads !== undefined) setNumThreads(o.threads);
}
