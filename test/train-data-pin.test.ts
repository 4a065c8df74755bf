/** --resume pins the data: faces, landmarks, readable faces and the split must be the ones the run started with. */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { train } from '../lib/train';
import type { TrainData, TrainSet } from '../lib/train/data';
import { base, data, deps } from './helpers/synthetic-train';

tf.enableProdMode();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-pin-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const config = { ...base, loss: 'l2' as const, epochs: 1 };

async function started(name: string): Promise<string> {
  const out = path.join(tmp, name);
  (await train({ ...config, out }, { data: data(), deps })).model.dispose();
  return out;
}

const resume = (out: string, d: TrainData) => train({ ...config, epochs: 2, out, resume: true }, { data: d, deps });

/** `set` with face `i`'s id replaced (as if its .pts was removed and another face took its row). */
function withSet(d: TrainData, part: 'train' | 'val', change: Partial<TrainSet>): TrainData {
  return { ...d, [part]: { ...d[part], ...change } };
}

t.test('resume refuses changed data and says what changed; split.json is kept', async (t) => {
  const out = await started('pin');
  const split = fs.readFileSync(path.join(out, 'split.json'), 'utf8');
  const d = data();

  const ids = d.val.ids.slice();
  ids[0] = d.train.ids[0];
  await t.rejects(resume(out, withSet(d, 'val', { ids })), { code: 'ERR_ARG', message: /--data: the dataset differs .*val faces gone: face2_0; val faces new: face1_0.*--force/ });

  const targets = d.val.targets.slice();
  targets[3] += 0.01;
  await t.rejects(resume(out, withSet(d, 'val', { targets })), { code: 'ERR_ARG', message: /val landmarks changed/ });

  await t.rejects(resume(out, withSet(d, 'train', { usable: d.train.usable.slice(1) })), { code: 'ERR_ARG', message: /train readable faces changed \(--skip-bad/ });

  t.equal(fs.readFileSync(path.join(out, 'split.json'), 'utf8'), split, 'split.json untouched by the refused resumes');
  const r = await resume(out, data());
  t.equal(r.status, 'completed', 'the same data resumes');
  r.model.dispose();
});

t.test('a run started before data.json existed is still checked against its split.json', async (t) => {
  const out = await started('legacy');
  fs.rmSync(path.join(out, 'data.json'));
  const d = data();
  const ids = d.train.ids.slice();
  ids[5] = 'somebody-else';
  await t.rejects(resume(out, withSet(d, 'train', { ids })), { code: 'ERR_ARG', message: /train faces gone: face1_5; train faces new: somebody-else/ });
  const r = await resume(out, data());
  r.model.dispose();
  t.ok(fs.existsSync(path.join(out, 'data.json')), 'pinned from then on');
});
