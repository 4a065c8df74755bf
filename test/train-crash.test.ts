/**
 * Fault injection: a kill at every file-system step of the checkpoint writes and the log append
 * (and a second kill while the resumed run writes its first checkpoint) must resume to the same
 * weights and the same log as an uninterrupted run.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { train } from '../lib/train';
import { LOCK_FILE } from '../lib/train/run-folder';
import { runWithKill } from './helpers/crash';
import { base, data, deps } from './helpers/synthetic-train';

tf.enableProdMode();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-crash-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const config = { ...base, loss: 'l2' as const, epochs: 2 };

async function weightsOf(m: tf.LayersModel): Promise<Buffer> {
  const all = await Promise.all(m.getWeights().map(async (w) => Buffer.from(((await w.data()) as Float32Array).buffer)));
  return Buffer.concat(all);
}

/** The log's deterministic fields (timings differ between runs). */
function logOf(out: string): Array<Record<string, unknown>> {
  const file = path.join(out, 'log.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => {
    const { epoch, globalStep, loss, valNme, lr, level, best } = JSON.parse(l);
    return { epoch, globalStep, loss, valNme, lr, level, best };
  });
}

/** After a kill the dead process's lock stays; its pid is gone, which the next run detects. */
function dropDeadLock(out: string): void {
  fs.rmSync(path.join(out, LOCK_FILE), { force: true });
}

async function resumeToEnd(out: string, epochs = config.epochs) {
  const r = await train({ ...config, epochs, out, resume: true }, { data: data(), deps });
  const w = await weightsOf(r.model);
  r.model.dispose();
  return { r, w };
}

t.test('a kill at any file-system step of the first checkpoint + log append resumes bit-exactly', async (t) => {
  const refOut = path.join(tmp, 'ref');
  let refW = Buffer.alloc(0);
  const seen = await runWithKill(refOut, Infinity, async () => {
    const ref = await train({ ...config, out: refOut }, { data: data(), deps });
    refW = await weightsOf(ref.model);
  });
  t.equal(seen.error, null);
  const refLog = logOf(refOut);
  t.same(refLog.map((l) => l.epoch), [1, 2]);
  // The steps from the first checkpoint write to the first log append, inclusive.
  const first = seen.ops.findIndex((o) => /checkpoints[\\/](best|latest)/.test(o.path));
  const last = seen.ops.findIndex((o) => o.path.endsWith('log.jsonl'));
  t.ok(first > 0 && last > first, `checkpoint steps ${first + 1}..${last + 1} of ${seen.ops.length}`);
  for (let k = first + 1; k <= last + 1; k++) {
    const out = path.join(tmp, `kill-${k}`);
    const killed = await runWithKill(out, k, () => train({ ...config, out }, { data: data(), deps }));
    t.ok(killed.killed, `killed at step ${k}`);
    dropDeadLock(out);
    const { r, w } = await resumeToEnd(out);
    const what = `kill at step ${k} (${seen.ops[k - 1].name} ${path.relative(refOut, seen.ops[k - 1].path)})`;
    t.equal(r.globalStep, 4, what);
    t.ok(w.equals(refW), `${what}: bit-identical weights`);
    t.same(logOf(out), refLog, `${what}: the log has each epoch once, as the uninterrupted run's`);
    t.same(fs.readdirSync(path.join(out, 'checkpoints')).sort(), ['best', 'latest'], `${what}: no copies left behind`);
  }
});

t.test('a second kill while the resumed run writes its first checkpoint (the swap left latest.old + latest.tmp) loses nothing', async (t) => {
  const refOut = path.join(tmp, 'ref3');
  const ref = await train({ ...config, epochs: 3, out: refOut }, { data: data(), deps });
  const refW = await weightsOf(ref.model);
  const refLog = logOf(refOut);
  // First kill: in epoch 2's checkpoint, right after latest -> latest.old (latest.tmp complete).
  const probe = await runWithKill(path.join(tmp, 'probe'), Infinity, () => train({ ...config, epochs: 3, out: path.join(tmp, 'probe') }, { data: data(), deps }));
  const swaps = probe.ops.map((o, i) => [o, i] as const).filter(([o]) => o.name === 'renameSync' && /latest -> .*latest\.old$/.test(o.path));
  t.equal(swaps.length, 2, 'epochs 2 and 3 swap latest (epoch 1 had none to move)');
  const firstKill = swaps[0][1] + 2; // epoch 2's rename of latest.tmp -> latest never happens
  // Second kill: every step of the resumed run's first checkpoint save.
  const second = path.join(tmp, 'second-probe');
  await runWithKill(second, firstKill, () => train({ ...config, epochs: 3, out: second }, { data: data(), deps }));
  dropDeadLock(second);
  t.ok(fs.existsSync(path.join(second, 'checkpoints', 'latest.old')) && fs.existsSync(path.join(second, 'checkpoints', 'latest.tmp')), 'the kill left latest.old and latest.tmp');
  const resumed = await runWithKill(second, Infinity, () => train({ ...config, epochs: 3, out: second, resume: true }, { data: data(), deps }).then((r) => r.model.dispose()));
  t.equal(resumed.error, null, 'the resume after the first kill completes');
  // From the resume's recovery through its first checkpoint to its first log append.
  const lastStep = resumed.ops.findIndex((o) => o.path.endsWith('log.jsonl') && o.name === 'appendFileSync');
  t.ok(lastStep > 0, `the resumed run appends its log at step ${lastStep + 1} of ${resumed.ops.length}`);
  for (let j = 1; j <= lastStep + 1; j++) {
    const out = path.join(tmp, `double-${j}`);
    await runWithKill(out, firstKill, () => train({ ...config, epochs: 3, out }, { data: data(), deps }));
    dropDeadLock(out);
    const k2 = await runWithKill(out, j, () => train({ ...config, epochs: 3, out, resume: true }, { data: data(), deps }));
    dropDeadLock(out);
    const what = `second kill at ${resumed.ops[j - 1]?.name} ${path.relative(second, resumed.ops[j - 1]?.path ?? '')}`;
    t.ok(k2.killed, what);
    let end: Awaited<ReturnType<typeof resumeToEnd>>;
    try {
      end = await resumeToEnd(out, 3);
    } catch (err) {
      t.fail(`${what}: the final resume failed: ${(err as Error).message}`);
      continue;
    }
    const { r, w } = end;
    t.equal(r.globalStep, 6, what);
    t.ok(w.equals(refW), `${what}: bit-identical weights`);
    t.same(logOf(out), refLog, `${what}: log intact`);
  }
});
