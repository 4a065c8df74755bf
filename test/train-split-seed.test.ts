import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { formatPts } from '../lib/data';
import { resolveTrainConfig } from '../lib/train/config';
import { openDataset } from '../lib/train/folder-data';
import { ringLandmarks, tempDir, texture, writeImage } from './helpers/data-fixtures';

t.test('--split-seed: runs with different seeds share one validation split', async (t) => {
  const dir = tempDir(t);
  for (let i = 0; i < 40; i++) {
    const name = `${i % 2 ? 'lfpw' : 'helen'}_${i}`;
    await writeImage(path.join(dir, `${name}.png`), texture(32, 32, i));
    fs.writeFileSync(path.join(dir, `${name}.pts`), formatPts(Array.from(ringLandmarks(68, 16, 16, 8, 9), (v) => v + 1)));
  }
  const valIds = async (p: { seed: number; splitSeed?: number | null }) => {
    const d = await openDataset(resolveTrainConfig({ data: dir, out: dir, arch: 'tiny', inputSize: 16, batchSize: 4, valFraction: 0.25, workers: 0, ...p }));
    await d.train.close?.();
    await d.val.close?.();
    return d.val.ids.join(',');
  };
  const s0 = await valIds({ seed: 0 });
  const s1 = await valIds({ seed: 1 });
  t.equal(s0.split(',').length, 10, '25% of 40');
  t.not(s0, s1, 'without --split-seed the seed also picks the split');
  t.equal(await valIds({ seed: 1, splitSeed: 0 }), s0, 'split seed 0 with seed 1 = the seed-0 split');
  t.equal(await valIds({ seed: 7, splitSeed: 0 }), s0);
  t.equal(await valIds({ seed: 0, splitSeed: 1 }), s1, 'and the split seed alone decides it');
  t.throws(() => resolveTrainConfig({ data: dir, splitSeed: -1 }), { code: 'ERR_RANGE', message: /config\.splitSeed/ });
  t.throws(() => resolveTrainConfig({ data: dir, splitSeed: 0.5 }), { message: /config\.splitSeed/ });
});
