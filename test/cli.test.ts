import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acr } from './helpers/cli';
import { formatPts, loadDataset, splitDataset } from '../lib/data';
import { AsmModel, fitAsm } from '../lib/asm';
import { cropTargets } from '../lib/train/folder-data';
import { ringLandmarks, texture, writeImage } from './helpers/data-fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acr-cli-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));


const COMMANDS = ['train', 'eval', 'fit-asm'];

t.test('--help for each command: usage, options, exit codes, exit 0', async (t) => {
  for (const c of COMMANDS) {
    const r = await acr(c, '--help');
    t.equal(r.code, 0, c);
    t.match(r.out, new RegExp(`^Usage: acr ${c} \\[options\\]`), c);
    t.match(r.out, /Exit codes: 0 success, 1 failure, 2 bad usage/);
    t.match(r.out, /--data PATH/);
  }
  const top = await acr('--help');
  t.equal(top.code, 0);
  for (const c of COMMANDS) t.match(top.out, new RegExp(`\\n  ${c} `));
  t.equal((await acr()).code, 2, 'no command is a usage error');
  const train = await acr('train', '-h');
  t.match(train.out, /130 interrupted/);
  t.notMatch((await acr('eval', '--help')).out, /130/);
  t.match(train.out, /--loss VALUE\s+Training loss \(one of acr, l2, l1, smoothl1, wing, softwing, awing; default acr\)/);
});

t.test('bad arguments exit 2 with a message naming the flag', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['train'], /--data is required/],
    [['train', '--data', 'x', '--epochs', 'ten'], /--epochs: expected an integer, got 'ten'/],
    [['train', '--data', 'x', '--epochs', '0'], /--epochs: expected an integer in \[1, /],
    [['train', '--data', 'x', '--batch-size', '2.5'], /--batch-size: expected an integer/],
    [['train', '--data', 'x', '--loss', 'l3'], /--loss: expected one of acr, l2/],
    [['train', '--data', 'x', '--lr=-1'], /--lr: expected a number > 0/],
    [['train', '--data', 'x', '--val-fraction', '1'], /--val-fraction: expected a fraction in \[0, 1\)/],
    [['train', '--data', 'x', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['train', '--data', 'x', 'extra'], /unexpected argument 'extra'/],
    [['train', '--data'], /--data/],
    [['fit-asm', '--data', 'x', '--levels', '0.8,2'], /--levels: expected comma-separated variance levels/],
    [['fit-asm', '--data', 'x', '--val-fraction', '-0.5'], /--val-fraction/],
    [['fit-asm'], /--data is required/],
    [['eval'], /--model or --run is required/],
    [['eval', '--model', 'm'], /--data is required without --run/],
    [['eval', '--model', 'm', '--data', 'd', '--split', 'val'], /--split val needs --run/],
    [['eval', '--run', 'r', '--normalizer', 'nose'], /--normalizer: expected one of inter-ocular/],
    [['nonsense'], /unknown command 'nonsense'/],
  ];
  for (const [argv, msg] of cases) {
    const r = await acr(...argv);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.err, msg, argv.join(' '));
  }
});

t.test('runtime failures exit 1 with the cause', async (t) => {
  const r = await acr('train', '--data', path.join(tmp, 'no-such-folder'), '--out', path.join(tmp, 'run'), '--no-progress');
  t.equal(r.code, 1);
  t.match(r.err, /no-such-folder/);
  const e = await acr('eval', '--model', path.join(tmp, 'no-model'), '--data', tmp);
  t.equal(e.code, 1);
  t.match(e.err, /no-model/);
});

/** A 300-W style folder: 68-point faces on textured images, two sources (for the split). */
async function fixtureFolder(dir: string, n: number): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const name = `${i % 2 ? 'lfpw' : 'helen'}_${i}`;
    await writeImage(path.join(dir, `${name}.png`), texture(64, 64, i));
    const lm = ringLandmarks(68, 32 + (i % 5) - 2, 32 + (i % 3) - 1, 14 + (i % 4), 18 - (i % 3));
    fs.writeFileSync(path.join(dir, `${name}.pts`), formatPts(Array.from(lm, (v) => v + 1)));
  }
}

t.test('end to end: acr train (tiny model, 1 epoch) then acr eval --run', async (t) => {
  const data = path.join(tmp, 'faces');
  await fixtureFolder(data, 20);
  const run = path.join(tmp, 'run-e2e');
  const r = await acr('train', '--data', data, '--out', run, '--loss', 'l2', '--arch', 'tiny', '--input-size', '32', '--epochs', '1', '--batch-size', '8', '--val-fraction', '0.2', '--no-progress');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /completed: 1\/1 epochs, 2 steps, best val NME/);
  const log = fs.readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.equal(log.length, 1);
  t.ok(log[0].valNme > 0 && Number.isFinite(log[0].loss));
  const split = JSON.parse(fs.readFileSync(path.join(run, 'split.json'), 'utf8'));
  t.equal(split.val.length, 4, '20% of each source');
  t.same(split.val.filter((id: string) => split.train.includes(id)), [], 'validation faces are not trained on');
  for (const f of ['model.json', 'weights.bin', 'optimizer.bin', 'state.json']) t.ok(fs.existsSync(path.join(run, 'checkpoints', 'best', f)), f);

  // --no-flip: the trainer's validation runs the plain crop.
  const e = await acr('eval', '--run', run, '--worst', '2', '--no-flip');
  t.equal(e.code, 0, e.err);
  t.match(e.out, /4 faces, NME [\d.]+% \(inter-ocular\(36,45\)\), FR@0.1 [\d.]+%, AUC@0.1 [\d.]+/);
  for (const f of ['summary.json', 'per_image.csv', 'ced.svg', 'ced.png', 'worst.png']) t.ok(fs.existsSync(path.join(run, 'eval', f)), f);
  const summary = JSON.parse(fs.readFileSync(path.join(run, 'eval', 'summary.json'), 'utf8'));
  t.equal(summary.count, 4);
  t.equal(summary.split, 'val');
  // The validation NME the trainer logged (crop coordinates) equals eval's (source pixels): the crop is a similarity.
  t.ok(Math.abs(summary.nme / 100 - log[0].valNme) < 1e-4 * log[0].valNme, `${summary.nme / 100} vs ${log[0].valNme}`);
  const all = await acr('eval', '--model', path.join(run, 'checkpoints', 'latest'), '--data', data, '--out', path.join(tmp, 'eval-all'), '--worst', '0');
  t.equal(all.code, 0, all.err);
  t.match(all.out, /20 faces/);
  const cmp = await acr('eval', '--run', run, '--worst', '0', '--out', path.join(tmp, 'eval-cmp'), '--name', 'again', '--compare', path.join(run, 'eval'));
  t.equal(cmp.code, 0, cmp.err);
  const svg = fs.readFileSync(path.join(tmp, 'eval-cmp', 'ced-compare.svg'), 'utf8');
  t.match(svg, /again/);
  t.match(svg, /run-e2e/);
  t.ok(fs.statSync(path.join(tmp, 'eval-cmp', 'ced-compare.png')).size > 0);
  const bad = await acr('eval', '--run', run, '--worst', '0', '--out', path.join(tmp, 'eval-bad'), '--compare', path.join(tmp, 'nowhere'));
  t.equal(bad.code, 1);
  t.match(bad.err, /nowhere.*per_image\.csv|per_image\.csv.*nowhere/);
});

t.test('acr train: --head multiscale, --extra-data with a weight, jitter flags; acr eval flip by default, --no-flip, --checkpoint', async (t) => {
  const data = path.join(tmp, 'faces-ms');
  const extra = path.join(tmp, 'faces-extra');
  await fixtureFolder(data, 20);
  await fixtureFolder(extra, 8);
  const run = path.join(tmp, 'run-ms');
  const r = await acr('train', '--data', data, '--extra-data', `${extra}@0.5`, '--out', run, '--loss', 'smoothl1', '--head', 'multiscale', '--width', '0.35',
    '--input-size', '32', '--epochs', '2', '--batch-size', '4', '--val-fraction', '0.2', '--aug-scale', '0.8,1.2', '--aug-shift', '0.08', '--aug-rotation', '20', '--aug-occlusion', '0', '--loss-scale', '100', '--no-progress');
  t.equal(r.code, 0, r.err);
  // 16 training faces + 8 extra at weight 0.5 = 20 a epoch = 5 batches.
  t.match(r.out, /completed: 2\/2 epochs, 10 steps/);
  const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
  t.same([config.head, config.augScale, config.augShift, config.augRotation, config.augOcclusion, config.lossScale], ['multiscale', [0.8, 1.2], 0.08, 20, 0, 100]);
  t.same(config.extraData, [{ path: extra, weight: 0.5 }]);
  const split = JSON.parse(fs.readFileSync(path.join(run, 'split.json'), 'utf8'));
  t.equal(split.val.length, 4, 'the extra faces are never validated on');
  t.equal(split.train.length, 24);
  const again = await acr('train', '--data', data, '--out', run, '--loss', 'smoothl1', '--head', 'multiscale', '--width', '0.35', '--input-size', '32', '--epochs', '3', '--batch-size', '4', '--val-fraction', '0.2', '--resume', '--no-progress');
  t.equal(again.code, 2, 'resuming with other settings is refused');
  t.match(again.err, /config\.head|config\.augScale|config\.extraData|config\.lossScale/);

  const plain = await acr('eval', '--run', run, '--worst', '0', '--no-flip', '--out', path.join(tmp, 'eval-ms'));
  const flip = await acr('eval', '--run', run, '--worst', '0', '--out', path.join(tmp, 'eval-ms-flip'));
  const best = await acr('eval', '--run', run, '--worst', '0', '--checkpoint', 'best', '--out', path.join(tmp, 'eval-ms-best'));
  for (const e of [plain, flip, best]) t.equal(e.code, 0, e.err);
  const sum = (d: string) => JSON.parse(fs.readFileSync(path.join(tmp, d, 'summary.json'), 'utf8'));
  t.match(sum('eval-ms').model, /checkpoints[\\/]latest$/, 'the latest checkpoint by default');
  t.match(sum('eval-ms-best').model, /checkpoints[\\/]best$/);
  t.equal(sum('eval-ms-flip').flip, true, 'flip averaging by default');
  t.equal(sum('eval-ms').flip, false);
  t.not(sum('eval-ms-flip').nme, sum('eval-ms').nme, 'flip averaging changes the predictions');
  // Boxes from a file (as 'acr eval --boxes detector' writes it): one face missed, the others cropped on their box.
  const ids: string[] = JSON.parse(fs.readFileSync(path.join(run, 'split.json'), 'utf8')).val;
  const boxFile = path.join(tmp, 'boxes.json');
  fs.writeFileSync(boxFile, JSON.stringify(Object.fromEntries(ids.map((id, i) => [id, i === 0 ? null : [2, 2, 30, 30]]))));
  const limited = await acr('eval', '--run', run, '--worst', '0', '--limit', '2', '--out', path.join(tmp, 'eval-ms-limit'));
  t.equal(limited.code, 0, limited.err);
  t.same([sum('eval-ms-limit').count, sum('eval-ms-limit').limit], [2, 2], '--limit N scores the first N faces');
  t.equal((await acr('eval', '--run', run, '--limit', '-1')).code, 2);
  const fromFile = await acr('eval', '--run', run, '--worst', '0', '--boxes', boxFile, '--out', path.join(tmp, 'eval-ms-boxes'));
  t.equal(fromFile.code, 0, fromFile.err);
  t.match(fromFile.out, /no face for 1 faces/);
  const sb = sum('eval-ms-boxes');
  t.same([sb.count, sb.detectorMissed, sb.detectorMissedIds], [3, 1, [ids[0]]]);
  t.not(sb.nme, sum('eval-ms-flip').nme, 'other boxes, other crops');
  fs.writeFileSync(boxFile, JSON.stringify({ nobody: null }));
  const stale = await acr('eval', '--run', run, '--worst', '0', '--boxes', boxFile, '--out', path.join(tmp, 'eval-ms-boxes2'));
  t.equal(stale.code, 2);
  t.match(stale.err, /no entry for face/);
  const bad = await acr('train', '--data', data, '--out', path.join(tmp, 'run-bad'), '--extra-data', `${extra}@x`);
  t.equal(bad.code, 2);
  t.match(bad.err, /--extra-data: expected PATH\[@WEIGHT\]/);
  const bad2 = await acr('train', '--data', data, '--out', path.join(tmp, 'run-bad'), '--aug-scale', '0.9');
  t.equal(bad2.code, 2);
  t.match(bad2.err, /--aug-scale: expected MIN,MAX/);
});

t.test('negative numbers reach the range checks; --threads is a flag error; a diverging run stops with a clear error', async (t) => {
  const data = path.join(tmp, 'faces-neg');
  await fixtureFolder(data, 12);
  const base = ['train', '--data', data, '--arch', 'tiny', '--input-size', '32', '--batch-size', '4', '--val-fraction', '0.25', '--no-progress'];
  const epochs = await acr(...base, '--out', path.join(tmp, 'run-neg1'), '--epochs', '-1');
  t.equal(epochs.code, 2);
  t.match(epochs.err, /--epochs: expected an integer in \[1, /);
  t.notMatch(epochs.err, /ambiguous/);
  const lr = await acr(...base, '--out', path.join(tmp, 'run-neg2'), '--lr', '-1e-3');
  t.equal(lr.code, 2);
  t.match(lr.err, /--lr: expected a number > 0, got -0\.001/);
  const threads = await acr(...base, '--out', path.join(tmp, 'run-threads'), '--threads', '100000');
  t.equal(threads.code, 2);
  t.match(threads.err, /--threads: expected an integer in \[0, 256\]/);
  const run = path.join(tmp, 'run-diverge');
  const diverged = await acr(...base, '--out', run, '--epochs', '2', '--lr', '1e6', '--loss', 'l2');
  t.equal(diverged.code, 1, diverged.err);
  t.match(diverged.err, /training diverged: validation NME .* at epoch 1 .*lower the learning rate \(lr 1000000\)/);
  t.notOk(fs.existsSync(path.join(run, 'checkpoints', 'latest', 'weights.bin')), 'the diverged model is not checkpointed');
});

/** Starts `acr train` in a child and waits until it has written a checkpoint. */
async function trainChild(args: string[], run: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'lib', 'cli', 'main.ts'), ...args, '--epochs', '400', '--checkpoint-every', '1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const io = { out: '', err: '' };
  child.stdout.on('data', (d) => (io.out += d));
  child.stderr.on('data', (d) => (io.err += d));
  const state = path.join(run, 'checkpoints', 'latest', 'state.json');
  const deadline = Date.now() + 60000;
  while (!fs.existsSync(state) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, io, state, exited };
}

function trainArgs(data: string, run: string): string[] {
  return ['train', '--data', data, '--out', run, '--loss', 'l2', '--arch', 'tiny', '--input-size', '16', '--batch-size', '4', '--val-fraction', '0', '--no-progress'];
}

t.test('acr fit-asm fits the training faces only; acr train --loss acr runs the ACR path', async (t) => {
  const data = path.join(tmp, 'faces-asm');
  await fixtureFolder(data, 20);
  const file = path.join(tmp, 'asm.json');
  const r = await acr('fit-asm', '--data', data, '--out', file, '--val-fraction', '0.2');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /fitted on 16 training faces \(4 held out\), 136 coordinates/);
  t.match(r.out, /variance 0\.80: \d+ components/);
  const model = AsmModel.fromJSON(JSON.parse(fs.readFileSync(file, 'utf8')));
  // The same model from the same 16 training shapes, computed here directly.
  const ds = await loadDataset(data);
  const split = splitDataset(ds.records, { valFraction: 0.2, seed: 0 });
  const direct = fitAsm(cropTargets(split.train, 224, 0.15), { numLandmarks: 68 });
  t.same(Array.from(model.mean), Array.from(direct.mean), 'mean of the training shapes, crop-normalised');

  const run = path.join(tmp, 'run-acr');
  const tr = await acr('train', '--data', data, '--out', run, '--loss', 'acr', '--arch', 'tiny', '--input-size', '32', '--epochs', '2', '--batch-size', '8', '--val-fraction', '0.2', '--no-progress');
  t.equal(tr.code, 0, tr.err);
  const log = fs.readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.same(log.map((l) => l.level), [0.8, 0.95], 'the reference schedule scaled to 2 epochs (epoch 1 = 75 of 150)');
  t.ok(log.every((l) => Number.isFinite(l.loss) && l.loss > 0));
  const trainedAsm = AsmModel.fromJSON(JSON.parse(fs.readFileSync(path.join(run, 'asm.json'), 'utf8')));
  t.same(Array.from(trainedAsm.mean), Array.from(fitAsm(cropTargets(split.train, 32, 0.15), { numLandmarks: 68 }).mean), 'the run fitted its ASM on its training faces');
});

t.test('SIGINT: the child finishes the step, writes the checkpoint, exits 130; --resume completes', async (t) => {
  const data = path.join(tmp, 'faces-int');
  await fixtureFolder(data, 16);
  const run = path.join(tmp, 'run-int');
  const args = trainArgs(data, run);
  const { child, io, state, exited } = await trainChild(args, run);
  t.ok(fs.existsSync(state), 'a checkpoint appeared');
  child.kill('SIGINT');
  const { code } = await exited;
  t.equal(code, 130, io.err);
  t.match(io.err, /interrupted; finishing the step and writing the checkpoint/);
  t.match(io.out, /resume with: acr train .* --resume/);
  const s = JSON.parse(fs.readFileSync(state, 'utf8'));
  t.ok(s.globalStep >= 1 && s.epoch < 400);
  const r = await acr(...args, '--epochs', String(s.epoch + 1), '--resume');
  t.equal(r.code, 0, r.err);
  t.match(r.out, new RegExp(`completed: ${s.epoch + 1}/${s.epoch + 1} epochs`));

  // A kill (no chance to write anything) resumes from the last complete checkpoint.
  const killed = path.join(tmp, 'run-kill');
  const k = await trainChild(trainArgs(data, killed), killed);
  await new Promise((r) => setTimeout(r, 300));
  k.child.kill('SIGKILL');
  t.equal((await k.exited).signal, 'SIGKILL');
  const ks = JSON.parse(fs.readFileSync(path.join(killed, 'checkpoints', 'latest', 'state.json'), 'utf8'));
  const kr = await acr(...trainArgs(data, killed), '--epochs', String(ks.epoch + 1), '--resume');
  t.equal(kr.code, 0, kr.err);
  t.match(kr.out, /completed/);
  t.same(fs.readdirSync(path.join(killed, 'checkpoints')), ['latest'], 'no temp folders left behind (no validation set: no best)');
});

t.test('acr train, stderr not a terminal: progress throttled to a line at the first step of an epoch, no tfjs banner', async (t) => {
  const data = path.join(tmp, 'faces-progress');
  await fixtureFolder(data, 20);
  const run = path.join(tmp, 'run-progress');
  // Its own process with stderr a pipe (in this one, progress goes to the real stderr and an
  // earlier command may have shown the banner already). 16 steps an epoch (batch 1): one line per
  // step would be 32 lines.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'lib', 'cli', 'main.ts'), 'train', '--data', data, '--out', run,
    '--loss', 'l2', '--arch', 'tiny', '--input-size', '16', '--epochs', '2', '--batch-size', '1', '--val-fraction', '0.2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 0, err);
  const steps = err.split('\n').filter((l) => /^epoch \d\/2 \d+\/16 loss /.test(l));
  t.same(steps.map((l) => l.split(' loss')[0]), ['epoch 1/2 1/16', 'epoch 2/2 1/16'], 'the first step of each epoch, then nothing within 30 s');
  t.notOk(err.includes('\r'), 'no carriage returns in a log');
  t.notMatch(err, /install our node backend|looks like you are running TensorFlow\.js/);
});
