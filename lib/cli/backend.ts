/** Backend setup shared by the commands that run a network: cpu backend, threads, native kernels. */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../errors';
import { setNumThreads } from '../info';
import { useNativeKernels } from '../tfjs/native-kernels';

export interface BackendOptions {
  threads?: number;
  /** The addon's conv/BN/ReLU6 kernels for the tfjs cpu backend (stock tfjs is far too slow to train). */
  nativeKernels: boolean;
}

/** The addon's thread-pool limit (lib/info setNumThreads). */
const MAX_THREADS = 256;

export async function setupBackend(o: BackendOptions): Promise<void> {
  tf.enableProdMode();
  await tf.setBackend('cpu');
  if (o.threads !== undefined) {
    // A flag: a usage error (exit 2) naming the flag, not the library's 'n'.
    if (!(Number.isInteger(o.threads) && o.threads >= 0 && o.threads <= MAX_THREADS)) {
      throw new ArgumentError(`--threads: expected an integer in [0, ${MAX_THREADS}] (0 = all cores), got ${o.threads}`);
    }
    setNumThreads(o.threads);
  }
  useNativeKernels(o.nativeKernels);
}
