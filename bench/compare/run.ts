/**
 * Trains and scores the loss comparison (matrix.ts) with one resumable command. Each row trains
 * into RUNS_DIR/NAME (`acr train --resume`: a killed row continues from its last checkpoint), is
 * scored on its LAST checkpoint (`acr eval --checkpoint latest`, ground-truth boxes, flip averaging
 * as shipped), and its config, log, eval summary and per-face NME are copied to
 * bench/results/compare/NAME, which is what marks it done and what the report reads.
 *
 *   bench/compare/run.sh status               every row: done / training k/80 / not started
 *   bench/compare/run.sh run [--lanes N]      foreground: every missing row, N at a time (default 2)
 *   bench/compare/run.sh start [--lanes N]    the same in the background (RUNS_DIR/runner.out)
 *   (--threads T: native threads per training; default: the cores shared among the lanes)
 *   bench/compare/run.sh stop                 SIGINT to the runner: each training checkpoints and stops
 *   bench/compare/run.sh report               docs/results.md (the comparison block), docs/compare-ced.*
 *   bench/compare/run.sh commands             the exact train / eval commands of every row
 *
 * Lanes split the cores: with 2 lanes on 2 cores each training uses one native thread (two runs
 * side by side finish sooner than one after the other on two threads).
 * Environment: RUNS_DIR (default ../runs/compare, outside the repository), DATA (default
 * ../shared/data/300w/train), COMPARE_RESULTS (default bench/results/compare), EXTRA_TRAIN_ARGS
 * (appended to every `acr train`, later flags win: smoke tests only).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BackgroundRunner } from '../background';
import { SETTING, allRows, trainArgs, type Row } from './matrix';

const ROOT = path.resolve(__dirname, '..', '..');
export const RESULTS = path.resolve(ROOT, process.env.COMPARE_RESULTS ?? 'bench/results/compare');
const RUNS_DIR = path.resolve(ROOT, process.env.RUNS_DIR ?? '../runs/compare');
const DATA = process.env.DATA ?? SETTING.data;
const EXTRA = (process.env.EXTRA_TRAIN_ARGS ?? '').split(/\s+/).filter(Boolean);
const ACR = [process.execPath, path.join(ROOT, 'dist', 'cli', 'main.js')];
const RUNNER = new BackgroundRunner(RUNS_DIR);

/** NME (percent, flip) of a finished row, from its copied summary. */
export function finishedNme(name: string): number | null {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(RESULTS, name, 'summary.json'), 'utf8')) as { nme?: unknown };
    return typeof s.nme === 'number' ? s.nme : null;
  } catch {
    return null;
  }
}

function commands(r: Row, threads: number): { train: string[]; evaluate: string[] } {
  const dir = path.join(RUNS_DIR, r.name);
  return {
    train: [...ACR, 'train', ...trainArgs(r, DATA), '--out', dir, '--threads', String(threads), '--no-progress', '--resume', ...EXTRA],
    evaluate: [...ACR, 'eval', '--run', dir, '--checkpoint', 'latest', '--worst', '0', '--name', r.name, '--out', path.join(dir, 'eval'), '--threads', String(threads)],
  };
}

const shell = (argv: string[]) =>
  argv.map((a) => (/^[\w./=:,@-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ').replace(process.execPath, 'node');

function progress(name: string): string {
  if (finishedNme(name) !== null) return `done: NME ${finishedNme(name)!.toFixed(2)} %`;
  const log = path.join(RUNS_DIR, name, 'log.jsonl');
  if (!fs.existsSync(log)) return 'not started';
  const epochs = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return (JSON.parse(l) as { epoch: number }).epoch; } catch { return 0; } });
  return `training ${Math.max(0, ...epochs)}/${SETTING.epochs}`;
}

/** Copies what the report needs (no absolute paths, no images) into bench/results/compare/NAME. */
function collect(r: Row): void {
  const dir = path.join(RUNS_DIR, r.name);
  const out = path.join(RESULTS, r.name);
  fs.mkdirSync(out, { recursive: true });
  const csv = fs.readFileSync(path.join(dir, 'eval', 'per_image.csv'), 'utf8').trim().split(/\r?\n/);
  const head = csv[0].split(',');
  const [id, nme] = [head.indexOf('id'), head.indexOf('nme_percent')];
  if (id < 0 || nme < 0) throw new Error(`${dir}/eval/per_image.csv: expected columns id and nme_percent, got ${csv[0]}`);
  const faces = csv.slice(1).map((l) => l.split(',')).map((c) => `${c[id]},${c[nme]}`);
  fs.writeFileSync(path.join(out, 'per_face.csv'), ['id,nme_percent', ...faces].join('\n') + '\n');
  for (const f of ['config.json', 'log.jsonl', 'split.json']) fs.copyFileSync(path.join(dir, f), path.join(out, f));
  // summary.json last: it marks the row done.
  fs.copyFileSync(path.join(dir, 'eval', 'summary.json'), path.join(out, 'summary.json'));
}

function exec(argv: string[], tag: string): Promise<number> {
  console.log(`[${tag}] $ ${shell(argv)}`);
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const relay = (s: NodeJS.ReadableStream) => {
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) console.log(`[${tag}] ${l}`);
      });
    };
    relay(child.stdout!);
    relay(child.stderr!);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 15) : 1)));
  });
}

/** Train + score one row; false when it could not finish (interrupted, locked by another process, failed). */
async function runRow(r: Row, threads: number): Promise<boolean> {
  const c = commands(r, threads);
  const dir = path.join(RUNS_DIR, r.name);
  if (!fs.existsSync(path.join(dir, 'eval', 'summary.json'))) {
    const code = await exec(c.train, r.name);
    if (code !== 0) {
      console.log(`[${r.name}] training exited with ${code}${code === 2 ? ' (locked by another process, or bad usage)' : ''}; rerun to resume`);
      return false;
    }
    const evalCode = await exec(c.evaluate, r.name);
    if (evalCode !== 0) return false;
  }
  collect(r);
  console.log(`[${r.name}] done: NME ${finishedNme(r.name)?.toFixed(2)} %`);
  return true;
}

/** Every missing row, `lanes` at a time, in matrix order; the matrix is re-read after each row (extra seeds). */
async function runAll(lanes: number, threads: number): Promise<number> {
  const taken = new Set<string>();
  let stopping = false;
  let failures = 0;
  process.on('SIGINT', () => {
    stopping = true;
    console.log('SIGINT: the trainings checkpoint and stop; no new row starts');
  });
  const next = (): Row | undefined => allRows(finishedNme).find((r) => !taken.has(r.name) && finishedNme(r.name) === null);
  const lane = async (k: number) => {
    for (let r = next(); r && !stopping; r = next()) {
      taken.add(r.name);
      console.log(`[lane ${k}] ${r.name}`);
      if (!(await runRow(r, threads))) failures++;
    }
  };
  await Promise.all(Array.from({ length: lanes }, (_, k) => lane(k)));
  console.log(stopping ? 'stopped' : `finished: ${allRows(finishedNme).filter((r) => finishedNme(r.name) !== null).length} rows done, ${failures} did not finish`);
  return stopping ? 130 : failures ? 1 : 0;
}

function intFlag(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`${flag}: expected an integer in 1..64, got ${args[i + 1]}`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'status': {
      console.log(`RUNS_DIR ${RUNS_DIR}; ${RUNNER.describe()}`);
      for (const r of allRows(finishedNme)) console.log(`${r.name.padEnd(18)} ${progress(r.name)}`);
      return 0;
    }
    case 'run': {
      if (!fs.existsSync(ACR[1])) throw new Error(`${ACR[1]} not found: run 'npm run build' first`);
      const lanes = intFlag(rest, '--lanes', 2);
      return runAll(lanes, intFlag(rest, '--threads', Math.max(1, Math.floor(os.availableParallelism() / lanes))));
    }
    case 'start':
      RUNNER.start(__filename, rest);
      return 0;
    case 'stop':
      RUNNER.stop();
      return 0;
    case 'commands':
      for (const r of allRows(finishedNme)) {
        const c = commands(r, 1);
        console.log(`# ${r.name}\n${shell(c.train)}\n${shell(c.evaluate)}`);
      }
      return 0;
    case 'report':
      return exec([process.execPath, ...process.execArgv, path.join(__dirname, 'report.ts')], 'report');
    default:
      console.log(fs.readFileSync(__filename, 'utf8').split('*/')[0].replace(/^\/\*\*?\n?/, '').replace(/^ \* ?/gm, ''));
      return cmd && cmd !== '--help' && cmd !== '-h' ? 2 : 0;
  }
}

if (require.main === module) {
  // `run.sh status | head` closes the pipe early: not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: Error) => {
      console.error(`error: ${err.message}`);
      process.exitCode = 2;
    },
  );
}
