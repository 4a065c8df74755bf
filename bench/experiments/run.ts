/**
 * Runs the experiment matrix (matrix.ts) one run at a time, resumably: a run with an eval summary is
 * skipped, a trained run is evaluated, a started run resumes from its latest checkpoint.
 *
 *   bench/experiments/run.sh status              # every row: done / training k/40 / not run yet / blocked
 *   bench/experiments/run.sh run [NAME...]       # foreground: train + eval what is missing (all, or NAMEs)
 *   bench/experiments/run.sh start [NAME...]     # the same in the background (RUNS_DIR/runner.out); survives logout
 *   bench/experiments/run.sh stop                # SIGINT: the current run checkpoints and stops
 *   bench/experiments/run.sh register NAME DIR   # use a run trained elsewhere as row NAME (read only)
 *   bench/experiments/run.sh eval-partial NAME   # evaluate an unfinished run's best checkpoint now
 *   bench/experiments/run.sh report              # docs/results.md, docs/results-ced.svg/.png
 *   bench/experiments/run.sh commands            # the exact train/eval commands of every row
 *
 * Environment: RUNS_DIR (default runs/experiments), DATA (default ../shared/data/300w/train),
 * THREADS (native threads, default 0 = all cores), WORKERS (data worker threads, default 1),
 * EXTRA_TRAIN_ARGS (appended to every `acr train`, later flags win: smoke tests only, e.g.
 * "--limit 80 --epochs 1 --arch tiny --input-size 32"; the report flags rows whose config differs).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BackgroundRunner } from '../background';
import { FIXED, matrix, trainArgs, type Experiment } from './matrix';
import { RUNS_DIR, finalNme, register, state } from './runs';

const DATA = process.env.DATA ?? FIXED.data;
const THREADS = process.env.THREADS ?? '0';
const WORKERS = process.env.WORKERS ?? '1';
const EXTRA = (process.env.EXTRA_TRAIN_ARGS ?? '').split(/\s+/).filter(Boolean);
const ACR = [process.execPath, '--import', 'tsx', 'lib/cli/main.ts'];
const RUNNER = new BackgroundRunner(RUNS_DIR);

function commandOf(e: Experiment): { train: string[]; evaluate: string[] } {
  const dir = path.join(RUNS_DIR, e.name);
  return {
    train: [...ACR, 'train', ...trainArgs(e, DATA), '--out', dir, '--threads', THREADS, '--workers', WORKERS, '--no-progress', ...EXTRA],
    evaluate: [...ACR, 'eval', '--run', dir, '--name', e.name, '--threads', THREADS],
  };
}

const shell = (argv: string[]) => argv.map((a) => (/^[\w./=:,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ').replace(process.execPath, 'node');

function describeState(e: Experiment): string {
  const s = state(e.name);
  const where = s.external ? ` (registered: ${s.runDir})` : '';
  if (s.evalDir && !s.evalPartial) return `done${where}: NME ${finalNme(e.name)?.toFixed(3)}%`;
  if (s.trained) return `trained, not evaluated${where}`;
  if (s.config) return `training ${s.epochsDone}/${s.epochsPlanned}${s.evalPartial ? ', partial eval' : ''}${where}`;
  return 'not run yet';
}

function status(): void {
  const m = matrix(finalNme);
  console.log(`RUNS_DIR ${RUNS_DIR}; ${RUNNER.describe()}`);
  for (const e of m.experiments) console.log(`${e.name.padEnd(20)} ${describeState(e)}`);
  for (const b of m.blocked) console.log(`blocked: ${b}`);
}

function exec(argv: string[]): number {
  console.log(`$ ${shell(argv)}`);
  const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' });
  return r.status ?? (r.signal ? 128 + 15 : 1);
}

/** Train and evaluate every missing row (or the named ones), in matrix order, until none is left. */
function runAll(only: string[]): number {
  const attempted = new Set<string>();
  for (;;) {
    // The matrix is recomputed after each run: finished seed-0 rows decide which seed rows exist.
    const m = matrix(finalNme);
    const next = m.experiments.find((e) => !attempted.has(e.name) && (only.length === 0 || only.includes(e.name)) && !(state(e.name).evalDir && !state(e.name).evalPartial));
    if (!next) break;
    attempted.add(next.name);
    const s = state(next.name);
    const cmd = commandOf(next);
    if (s.external) {
      if (!s.trained) {
        console.log(`${next.name}: registered run ${s.runDir} is not finished (${s.epochsDone}/${s.epochsPlanned}); skipped (it is trained elsewhere)`);
        continue;
      }
      const code = exec([...ACR, 'eval', '--run', s.runDir, '--out', path.join(RUNS_DIR, next.name, 'eval'), '--name', next.name, '--threads', THREADS]);
      if (code !== 0) return code;
      continue;
    }
    if (!s.trained) {
      const code = exec([...cmd.train, ...(s.hasCheckpoint ? ['--resume'] : [])]);
      if (code !== 0) {
        console.log(`${next.name}: training exited with ${code}; rerun to resume`);
        return code;
      }
    }
    const code = exec(cmd.evaluate);
    if (code !== 0) return code;
  }
  const left = matrix(finalNme);
  for (const b of left.blocked) console.log(`blocked: ${b}`);
  return 0;
}

function evalPartial(name: string): number {
  const s = state(name);
  if (!s.config) throw new Error(`${name}: no run folder with a config.json (${s.runDir})`);
  const out = path.join(RUNS_DIR, name, 'eval-partial');
  const code = exec([...ACR, 'eval', '--run', s.runDir, '--out', out, '--name', `${name} (epoch ${s.epochsDone}/${s.epochsPlanned})`, '--threads', THREADS]);
  if (code === 0) fs.writeFileSync(path.join(out, 'at-epoch.json'), JSON.stringify({ epochsDone: s.epochsDone, epochsPlanned: s.epochsPlanned, at: new Date().toISOString() }) + '\n');
  return code;
}

function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'status':
      status();
      return 0;
    case 'run':
      return runAll(rest);
    case 'start':
      RUNNER.start(__filename, rest);
      return 0;
    case 'stop':
      RUNNER.stop();
      return 0;
    case 'register':
      if (rest.length !== 2) throw new Error('usage: register NAME DIR');
      register(rest[0], rest[1]);
      console.log(`${rest[0]} -> ${path.resolve(rest[1])}`);
      return 0;
    case 'eval-partial':
      if (rest.length !== 1) throw new Error('usage: eval-partial NAME');
      return evalPartial(rest[0]);
    case 'commands':
      for (const e of matrix(finalNme).experiments) {
        const c = commandOf(e);
        console.log(`# ${e.name}\n${shell(c.train)}\n${shell(c.evaluate)}`);
      }
      return 0;
    case 'report':
      return exec([process.execPath, '--import', 'tsx', path.join(__dirname, 'report.ts')]);
    default:
      console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0].replace(/^\/\*\*?\n?/, '').replace(/^ \* ?/gm, ''));
      return cmd ? 2 : 0;
  }
}

// `run.sh status | head` closes the pipe early: not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});
try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 2;
}
