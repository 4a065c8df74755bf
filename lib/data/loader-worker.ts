/** Worker thread of DataLoader: builds batches from the shared image cache (or decodes). */
import { parentPort, workerData } from 'worker_threads';
import { decodeImage, type RawImage } from './image';
import { produceBatch, type SampleConfig, type SampleRecord } from './sample';

export interface WorkerInit {
  cfg: SampleConfig;
  numLandmarks: number;
  records: Array<SampleRecord & { imagePath: string }>;
  /** Decoded images over SharedArrayBuffers, or null where not cached. Indexed like records. */
  images: Array<RawImage | null>;
}

export interface WorkerJob {
  id: number;
  epoch: number;
  indices: number[];
}

const init = workerData as WorkerInit;
parentPort!.on('message', (job: WorkerJob) => {
  produceBatch(
    init.cfg,
    init.numLandmarks,
    job.epoch,
    job.indices,
    (i) => init.records[i],
    (i) => init.images[i] ?? decodeImage(init.records[i].imagePath),
  ).then(
    (res) => parentPort!.postMessage({ id: job.id, res }, [res.images.buffer as ArrayBuffer, res.landmarks.buffer as ArrayBuffer]),
    (err: Error) => parentPort!.postMessage({ id: job.id, error: err.message }),
  );
});
