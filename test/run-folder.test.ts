import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { train } from '../lib/train';
import { LOCK_FILE } from '../lib/train/run-folder';
import { acr } from './helpers/cli';
import { base, data, deps } from './helpers/synthetic-train';

tf.enableProdMode();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-runfolder-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const epochsOf = (dir: string) => fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).epoch);

/** The pid of a process that has exited (a stale lock's owner). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

t.test('two trainings on one --out: the second is refused while the first runs; the folder stays one run', async (t) => {
  const out = path.join(tmp, 'two');
  const first = train({ ...base, loss: 'l2', out, seed: 1 }, { data: data(), deps });
  // The first holds the lock as soon as train() is called.
  await new Promise((r) => setImmediate(r));
  await t.rejects(train({ ...base, loss: 'l2', out, seed: 2 }, { data: data(), deps }), {
    code: 'ERR_LOCKED',
    message: new RegExp(`${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by another training \\(pid ${process.pid}`),
  });
  const r = await first;
  t.equal(r.status, 'completed');
  t.same(epochsOf(out), [1, 2, 3], 'one log, one run');
  t.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).seed, 1, 'config of the run that trained');
  t.notOk(fs.existsSync(path.join(out, LOCK_FILE)), 'the lock is removed at the end');
});

t.test('a stale lock (its pid is gone) is taken over; the lock is removed after an error too', async (t) => {
  const out = path.join(tmp, 'stale');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, LOCK_FILE), JSON.stringify({ pid: deadPid(), hostname: os.hostname(), startedAt: 'then', token: 'x' }));
  const r = await train({ ...base, loss: 'l2', epochs: 1, out }, { data: data(), deps });
  t.equal(r.status, 'completed');
  t.notOk(fs.existsSync(path.join(out, LOCK_FILE)));

  const failing = path.join(tmp, 'failing');
  const empty = data();
  await t.rejects(train({ ...base, loss: 'l2', out: failing }, { data: { ...empty, train: { ...empty.train, usable: [] } }, deps }), { code: 'ERR_ARG' });
  t.notOk(fs.existsSync(path.join(failing, LOCK_FILE)), 'released on error');
});

t.test('an existing run is refused without --resume or --force; --force starts over and clears eval/', async (t) => {
  const out = path.join(tmp, 'existing');
  await train({ ...base, loss: 'l2', epochs: 2, out }, { data: data(), deps });
  fs.mkdirSync(path.join(out, 'eval'));
  fs.writeFileSync(path.join(out, 'eval', 'summary.json'), '{}');
  await t.rejects(train({ ...base, loss: 'l2', epochs: 1, out, seed: 9 }, { data: data(), deps }), {
    code: 'ERR_ARG',
    message: /already holds a training run \(checkpoints\/, log\.jsonl\); add --resume to continue it, --force to start over/,
  });
  t.same(epochsOf(out), [1, 2], 'the refused call changed nothing');
  const r = await train({ ...base, loss: 'l2', epochs: 1, out, seed: 9, force: true }, { data: data(), deps });
  t.equal(r.globalStep, 2, 'started from step 0');
  t.same(epochsOf(out), [1], 'the old log is gone');
  t.notOk(fs.existsSync(path.join(out, 'eval')), 'the old eval is gone');
  t.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).seed, 9);
  await t.rejects(train({ ...base, loss: 'l2', out, resume: true, force: true }, { data: data(), deps }), { code: 'ERR_ARG', message: /config\.force: cannot be combined/ });
});

t.test('an unusable --out fails up front with ERR_IO naming the path, before the data is opened', async (t) => {
  let opened = 0;
  const openData = async () => {
    opened++;
    return data();
  };
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'x');
  await t.rejects(train({ ...base, loss: 'l2', out: file }, { deps: { ...deps, openData } }), { code: 'ERR_IO', message: new RegExp(`a-file.*a file is in the way|a-file: is a file`) });
  const ckFile = path.join(tmp, 'ck-file');
  fs.mkdirSync(ckFile);
  fs.writeFileSync(path.join(ckFile, 'checkpoints'), 'x');
  await t.rejects(train({ ...base, loss: 'l2', out: ckFile }, { deps: { ...deps, openData } }), { code: 'ERR_IO', message: /checkpoints/ });
  if (process.getuid?.() !== 0) {
    const ro = path.join(tmp, 'read-only');
    fs.mkdirSync(ro, { mode: 0o555 });
    await t.rejects(train({ ...base, loss: 'l2', out: path.join(ro, 'run') }, { deps: { ...deps, openData } }), { code: 'ERR_IO', message: /read-only.*permission denied/ });
  }
  t.equal(opened, 0, 'no data was read');
});

t.test('acr train on a locked folder exits 2 naming the folder and the pid; on an existing run exits 2 naming the flags', async (t) => {
  const out = path.join(tmp, 'cli-locked');
  fs.mkdirSync(out);
  // A live pid on this host: this test process itself.
  fs.writeFileSync(path.join(out, LOCK_FILE), JSON.stringify({ pid: process.pid, hostname: os.hostname(), startedAt: 'now', token: 'other' }));
  const r = await acr('train', '--data', path.join(tmp, 'nowhere'), '--out', out, '--no-progress');
  t.equal(r.code, 2);
  t.match(r.err, new RegExp(`cli-locked is in use by another training \\(pid ${process.pid}.*\\[ERR_LOCKED\\]`));
  t.ok(fs.existsSync(path.join(out, LOCK_FILE)), 'the other process\'s lock is left alone');

  const run = path.join(tmp, 'existing');
  const e = await acr('train', '--data', path.join(tmp, 'nowhere'), '--out', run, '--no-progress');
  t.equal(e.code, 2);
  t.match(e.err, /already holds a training run.*--resume.*--force/);
});
