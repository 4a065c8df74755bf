import { writeFileSync } from 'fs';
import * as path from 'path';
import t from 'tap';
import { DataLoader } from '../lib/data/loader';
import { preprocessFace } from '../lib/data/image';
import type { Batch, FaceRecord } from '../lib/data/types';
import { ringLandmarks, tempDir, texture, writeImage } from './helpers/data-fixtures';

async function makeRecords(dir: string, n: number): Promise<FaceRecord[]> {
  const recs: FaceRecord[] = [];
  for (let i = 0; i < n; i++) {
    const file = path.join(dir, `face_${i}.png`);
    await writeImage(file, texture(48, 40, i));
    recs.push({ id: `face_${i}`, imagePath: file, landmarks: ringLandmarks(68, 24 + (i % 3), 20, 12, 10) });
  }
  return recs;
}

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

const same = (a: Batch[], b: Batch[]) =>
  a.length === b.length &&
  a.every((x, i) => x.indices.join() === b[i].indices.join() && Buffer.compare(Buffer.from(x.images.buffer), Buffer.from(b[i].images.buffer)) === 0 && Buffer.compare(Buffer.from(x.landmarks.buffer), Buffer.from(b[i].landmarks.buffer)) === 0);

t.test('DataLoader: shapes, epoch order, reproducible and resumable batches', async (t) => {
  const dir = tempDir(t);
  const recs = await makeRecords(dir, 10);
  const opts = { size: 24, batchSize: 4, augment: {}, seed: 3 };
  const a = await DataLoader.create(recs, opts);
  t.equal(a.batchesPerEpoch(), 3);
  t.equal(a.flipPermutation!.length, 68, 'the built-in 68-point table is picked up');
  const e0 = await collect(a.epoch(0));
  t.same(e0.map((b) => b.batchSize), [4, 4, 2]);
  const b0 = e0[0];
  t.equal(b0.images.length, 4 * 24 * 24 * 3);
  t.equal(b0.landmarks.length, 4 * 136);
  t.same([b0.size, b0.numLandmarks], [24, 68]);
  t.same(e0.flatMap((b) => b.indices).sort((x, y) => x - y), [...Array(10).keys()], 'every face once per epoch');
  const e1 = await collect(a.epoch(1));
  t.not(e1.map((b) => b.indices.join()).join('|'), e0.map((b) => b.indices.join()).join('|'), 'a new order each epoch');

  const b = await DataLoader.create(recs, opts);
  t.ok(same(await collect(b.epoch(0)), e0), 'same seed, same batches (pixels and landmarks)');
  t.ok(same(await collect(b.epoch(1, { startBatch: 1 })), e1.slice(1)), 'resuming at batch 1 gives the rest of the epoch unchanged');
  const c = await DataLoader.create(recs, { ...opts, seed: 4 });
  t.notOk(same(await collect(c.epoch(0)), e0), 'another seed, other batches');

  const w = await DataLoader.create(recs, { ...opts, workers: 2, prefetch: 3 });
  t.ok(same(await collect(w.epoch(1)), e1), 'worker threads produce the same batches');
  // Leaving an epoch early with batches in flight is fine.
  for await (const _ of w.epoch(0)) break;
  await w.close();
  t.ok(a.stats.produceMs > 0 && a.stats.waitMs >= 0 && a.stats.samples === 20 && a.stats.batches === 6);
  const d = await DataLoader.create(recs, { ...opts, dropLast: true });
  t.same((await collect(d.epoch(0))).map((x) => x.batchSize), [4, 4]);
  await t.rejects(collect(a.epoch(0, { startBatch: 4 })), { code: 'ERR_RANGE' });
});

t.test('DataLoader: close() right after leaving an epoch early keeps the process alive', async (t) => {
  // Regression: a late worker result used to unref an idle worker while terminate() was pending,
  // and Node left the event loop (exit code 0) in the middle of the caller's await.
  const dir = tempDir(t);
  const recs = await makeRecords(dir, 8);
  for (let i = 0; i < 4; i++) {
    const w = await DataLoader.create(recs, { size: 16, batchSize: 2, augment: {}, workers: 2, prefetch: 4 });
    for await (const _ of w.epoch(i)) break;
    await w.close();
  }
  t.pass('four create / break / close cycles finished');
});

t.test('DataLoader without augmentation = preprocessFace, in record order', async (t) => {
  const dir = tempDir(t);
  const recs = await makeRecords(dir, 5);
  const ev = await DataLoader.create(recs, { size: 20, batchSize: 3, margin: 0.2 });
  const batches = await collect(ev.epoch(0));
  t.equal(ev.flipPermutation, null, 'no augmentation, no flips');
  const targets = ev.targets();
  t.equal(targets.length, 5 * 136);
  t.same(Array.from(targets.subarray(0, 136)), Array.from(batches[0].landmarks.subarray(0, 136)), 'targets() = the un-augmented batch targets');
  t.same(batches.flatMap((b) => b.indices), [0, 1, 2, 3, 4]);
  const px = 20 * 20 * 3;
  for (const [slot, i] of [[0, 0], [1, 4]] as const) {
    const b = batches[slot];
    const f = await preprocessFace(recs[i].imagePath, { landmarks: recs[i].landmarks, size: 20, margin: 0.2 });
    const k = b.indices.indexOf(i);
    t.same(Array.from(b.images.subarray(k * px, (k + 1) * px)), Array.from(f.image), `record ${i} pixels`);
    t.same(Array.from(b.landmarks.subarray(k * 136, (k + 1) * 136)), Array.from(f.landmarks!), `record ${i} targets`);
  }
});

t.test('DataLoader: a bad image throws naming it, or is skipped and counted', async (t) => {
  const dir = tempDir(t);
  const recs = await makeRecords(dir, 6);
  writeFileSync(recs[2].imagePath, 'broken');
  await t.rejects(DataLoader.create(recs, { size: 16, batchSize: 2 }), { code: 'ERR_IO', message: /face_2\.png: cannot decode/ });
  const warnings: string[] = [];
  const s = await DataLoader.create(recs, { size: 16, batchSize: 2, onError: 'skip', onWarning: (m) => warnings.push(m) });
  t.equal(s.stats.skipped, 1);
  t.same(s.usable, [0, 1, 3, 4, 5]);
  t.same((await collect(s.epoch(0))).flatMap((b) => b.indices), [0, 1, 3, 4, 5]);
  t.match(warnings[0], /face_2\.png/);

  // Without the cache the image is decoded per batch: the error surfaces in the epoch.
  const nc = await DataLoader.create(recs, { size: 16, batchSize: 2, cache: false });
  await t.rejects(collect(nc.epoch(0)), { code: 'ERR_IO', message: /face_2\.png/ });
  const ncs = await DataLoader.create(recs, { size: 16, batchSize: 2, cache: false, onError: 'skip', onWarning: () => undefined });
  const got = await collect(ncs.epoch(0));
  t.same(got.map((b) => b.batchSize), [2, 1, 2], 'the batch with the bad face is one short');
  t.equal(ncs.stats.skipped, 1);
  // A face whose points all coincide has no crop: caught when the loader is built.
  const flat = recs.map((r, i) => (i === 4 ? { ...r, landmarks: new Float32Array(136).fill(7) } : r));
  const l = await DataLoader.create(flat, { size: 16, batchSize: 2, onError: 'skip', onWarning: () => undefined, cache: false });
  t.same(l.usable, [0, 1, 2, 3, 5], 'degenerate face 4 left out');
  t.equal(l.stats.skipped, 1);
  await t.rejects(DataLoader.create(flat, { size: 16, batchSize: 2, cache: false }), { code: 'ERR_ARG', message: /records\[4\] \(face_4\): options: the face box has no extent/ });
});

t.test('DataLoader: options are validated before any decoding', async (t) => {
  const recs: FaceRecord[] = [{ id: 'a', imagePath: '/nonexistent.png', landmarks: Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]) }];
  await t.rejects(DataLoader.create([], { size: 16, batchSize: 2 }), { code: 'ERR_ARG' });
  await t.rejects(DataLoader.create(recs, { size: 2, batchSize: 2 }), { code: 'ERR_RANGE', message: /options\.size/ });
  await t.rejects(DataLoader.create(recs, { size: 16, batchSize: 0 }), { code: 'ERR_RANGE', message: /options\.batchSize/ });
  await t.rejects(DataLoader.create(recs, { size: 16, batchSize: 1, augment: { flipProb: 0.5 } }), { code: 'ERR_ARG', message: /flips need a landmark permutation for 5 points/ });
  await t.rejects(DataLoader.create(recs, { size: 16, batchSize: 1, augment: { rotation: -5 } }), { code: 'ERR_RANGE' });
  await t.rejects(DataLoader.create([...recs, { ...recs[0], landmarks: new Float32Array(12) }], { size: 16, batchSize: 1 }), { code: 'ERR_ARG', message: /records\[1\]\.landmarks/ });
  const warnings: string[] = [];
  await t.rejects(DataLoader.create(recs, { size: 16, batchSize: 1, augment: {}, onWarning: (m) => warnings.push(m) }), { code: 'ERR_IO' });
  t.match(warnings[0], /no built-in flip permutation for 5 landmarks: flips are off/);
});

t.test('DataLoader weights: each face in a share w of the epochs, fixed epoch length, reproducible', async (t) => {
  const dir = tempDir(t);
  const recs = await makeRecords(dir, 12);
  // Faces 0-5 always, 6-11 in half of the epochs: 6 + 3 = 9 faces an epoch.
  const weights = recs.map((_, i) => (i < 6 ? 1 : 0.5));
  const opts = { size: 16, batchSize: 3, augment: {}, seed: 5, weights, dropLast: true };
  const a = await DataLoader.create(recs, opts);
  t.equal(a.samplesPerEpoch(), 9);
  t.equal(a.batchesPerEpoch(), 3);
  const counts = new Array(12).fill(0);
  const epochs = 200;
  for (let e = 0; e < epochs; e++) {
    const order = a.epochOrder(e).flat();
    t.equal(order.length, 9, `epoch ${e}: 9 faces`);
    t.equal(new Set(order).size, 9, `epoch ${e}: no face twice`);
    for (const i of order) counts[i]++;
  }
  t.same(counts.slice(0, 6), new Array(6).fill(epochs), 'weight 1: every epoch');
  for (let i = 6; i < 12; i++) t.ok(Math.abs(counts[i] / epochs - 0.5) < 0.12, `face ${i}: in ${counts[i]} of ${epochs} epochs (expected ~half)`);
  const b = await DataLoader.create(recs, opts);
  t.same(b.epochOrder(7), a.epochOrder(7), 'same seed, same sample');
  t.notSame(a.epochOrder(8), a.epochOrder(7), 'a new sample each epoch');
  t.same((await collect(b.epoch(3))).map((x) => x.indices), a.epochOrder(3), 'the batches follow the sample');
  await t.rejects(DataLoader.create(recs, { ...opts, weights: [1, 2] }), { code: 'ERR_ARG', message: /options\.weights: expected 12 numbers/ });
  await t.rejects(DataLoader.create(recs, { ...opts, weights: recs.map(() => 0) }), { code: 'ERR_ARG', message: /options\.weights\[0\]: expected a weight in \(0, 1\]/ });
  await t.rejects(DataLoader.create(recs, { ...opts, weights: recs.map(() => 1.5) }), { code: 'ERR_ARG', message: /weights\[0\]/ });
});

t.test('DataLoader: a consumer that stops on its own error, then close(), leaves no unhandled rejection', async (t) => {
  const dir = tempDir(t);
  const recs = await makeRecords(dir, 12);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => process.off('unhandledRejection', onUnhandled));
  const loader = await DataLoader.create(recs, { size: 16, batchSize: 2, augment: {}, workers: 1, prefetch: 4 });
  const it = loader.epoch(0)[Symbol.asyncIterator]();
  await it.next(); // one batch taken, three more in flight; then the training step fails and the loader is closed
  await loader.close();
  await new Promise((r) => setTimeout(r, 100));
  t.same(unhandled, [], 'the in-flight batches of an abandoned epoch are not unhandled rejections');
});
