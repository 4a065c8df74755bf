/**
 * The verdict of the loss comparison (issue 11), from what bench/compare/run.ts copied into
 * bench/results/compare/NAME (summary.json, per_face.csv, config.json, log.jsonl, split.json):
 * per arm mean +- sd over seeds, overall and on the hard quarters, ratios against L2, the shuffled
 * control and the L1-type losses with 95 % intervals, and a CED of every arm. Writes the block
 * between the compare markers at the top of docs/results.md, and docs/compare-ced.svg/.png.
 *
 *   node --import tsx bench/compare/report.ts        (or bench/compare/run.sh report)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fitAsm } from '../../lib/asm';
import { loadDataset, splitByIds } from '../../lib/data';
import { cedPng, cedSvg, hardestIndices, smoothFaceDistance, yawProxy } from '../../lib/eval';
import { cropTargets } from '../../lib/train/folder-data';
import { ALL_ARMS, BASE_SEEDS, DECIDING_PAIRS, L1_TYPE, SETTING, VARIANTS, allRows, type Arm } from './matrix';
import { meanSd, ratioCi } from './stats';
import { RESULTS, finishedNme } from './run';

const ROOT = path.resolve(__dirname, '..', '..');
const DOC = path.join(ROOT, 'docs', 'results.md');
export const BEGIN = '<!-- compare:begin -->';
export const END = '<!-- compare:end -->';
const HARD_FRACTION = 0.25;
const SMOOTH_LEVEL = 0.97;

interface Summary { nme: number; failureRate: number; auc: number; count: number }
interface Done { name: string; seed: number; summary: Summary; perFace: Map<string, number>; minutes: number; epochs: number }
/** The metrics compared, per finished row. */
type Metric = 'nme' | 'fr' | 'auc' | 'sf' | 'yaw';

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

function readRow(name: string, seed: number): Done | null {
  const dir = path.join(RESULTS, name);
  if (finishedNme(name) === null) return null;
  const perFace = new Map<string, number>();
  for (const l of fs.readFileSync(path.join(dir, 'per_face.csv'), 'utf8').trim().split('\n').slice(1)) {
    const [id, nme] = l.split(',');
    perFace.set(id, Number(nme));
  }
  const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; timeS: number; valTimeS: number });
  const minutes = log.reduce((s, e) => s + e.timeS + e.valTimeS, 0) / 60;
  return { name, seed, summary: readJson<Summary>(path.join(dir, 'summary.json')), perFace, minutes, epochs: log[log.length - 1].epoch };
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const pctOf = (r: number) => `${r < 1 ? '-' : '+'}${Math.abs(100 * (r - 1)).toFixed(1)} %`;
const ci = (c: { r: number; lo: number; hi: number } | null) => (c ? `${f(c.r, 3)} [${f(c.lo, 3)}, ${f(c.hi, 3)}]` : '–');

async function main(): Promise<void> {
  const rows = allRows(finishedNme);
  const byArm = new Map<string, Done[]>(ALL_ARMS.map((a) => [a.arm, []]));
  for (const r of rows) {
    const d = readRow(r.name, r.seed);
    if (d) byArm.get(r.arm)!.push(d);
  }
  const all = [...byArm.values()].flat();
  if (all.length === 0) throw new Error(`no finished row in ${RESULTS}: run bench/compare/run.sh first`);

  // The validation faces (one split for every row: checked) and the hard quarters, from ground truth only.
  const valIds = readJson<{ val: string[] }>(path.join(RESULTS, all[0].name, 'split.json')).val;
  for (const d of all) {
    const v = readJson<{ val: string[] }>(path.join(RESULTS, d.name, 'split.json')).val;
    if (v.join() !== valIds.join()) throw new Error(`${d.name}: its validation split differs from ${all[0].name}'s`);
  }
  const ds = await loadDataset(path.resolve(ROOT, SETTING.data));
  const { train, val } = splitByIds(ds.records, valIds);
  const L = val[0].landmarks.length / 2;
  // The ASM the ACR rows trained with: fitted on the training faces' crop coordinates.
  const asm = fitAsm(cropTargets(train, SETTING.inputSize, SETTING.margin), { numLandmarks: L });
  const sfDist = smoothFaceDistance(asm, cropTargets(val, SETTING.inputSize, SETTING.margin), SMOOTH_LEVEL);
  const hardSf = new Set(hardestIndices(sfDist, HARD_FRACTION).map((i) => val[i].id));
  const flat = new Float64Array(val.length * 2 * L);
  val.forEach((r, i) => flat.set(r.landmarks, i * 2 * L));
  const absYaw = Array.from(yawProxy(flat, L), Math.abs);
  const hardYaw = new Set(hardestIndices(absYaw, HARD_FRACTION).map((i) => val[i].id));
  const subset = (d: Done, ids: Set<string>) => {
    let s = 0;
    for (const id of ids) {
      const x = d.perFace.get(id);
      if (x === undefined) throw new Error(`${d.name}: no NME for validation face ${id}`);
      s += x;
    }
    return s / ids.size;
  };
  const metric = (d: Done, m: Metric): number =>
    m === 'nme' ? d.summary.nme : m === 'fr' ? d.summary.failureRate : m === 'auc' ? d.summary.auc : subset(d, m === 'sf' ? hardSf : hardYaw);
  const values = (arm: string, m: Metric) => byArm.get(arm)!.map((d) => metric(d, m));
  const label = (arm: string) => ALL_ARMS.find((a) => a.arm === arm)!.label;
  const n = (arm: string) => byArm.get(arm)!.length;

  // The verdict: each question with its ratio and interval; "not decided" while seeds are missing.
  const verdict: string[] = [];
  const ask = (question: string, a: string, b: string, target = 1) => {
    const c = ratioCi(values(a, 'nme'), values(b, 'nme'));
    if (!c) {
      verdict.push(`- **${question}** Not decided yet: seeds done ${n(a)} (${a}) and ${n(b)} (${b}) of ${BASE_SEEDS.length}.`);
      return;
    }
    const answer = c.hi < target ? 'Yes' : c.lo > target ? 'No' : 'Not decided by these seeds';
    const sf = ratioCi(values(a, 'sf'), values(b, 'sf'));
    const yaw = ratioCi(values(a, 'yaw'), values(b, 'yaw'));
    verdict.push(`- **${question}** ${answer}: NME ratio ${a} / ${b} = ${ci(c)} (${pctOf(c.r)}; ${n(a)} vs ${n(b)} seeds, 95 % interval); ` +
      `hard Smooth-Face quarter ${ci(sf)}, hard yaw quarter ${ci(yaw)}.`);
  };
  ask('Does ACR beat L2 by the paper\'s 15 % (its claim: ~15-20 %)?', 'acr', 'l2', 0.85);
  ask('Does ACR beat L2 by at least 10 %?', 'acr', 'l2', 0.9);
  ask('Does ACR beat L2 at all?', 'acr', 'l2');
  ask('Does ACR beat the shuffled-Phi control (is the ASM difficulty a signal)?', 'acr', 'acr-shuffled');
  for (const other of L1_TYPE) ask(`Does ACR beat ${label(other)}?`, 'acr', other);
  ask('Does the Procrustes-aligned Phi beat the static Phi?', 'acr-aligned', 'acr');
  // The variants run only when the paper's form loses to the L1-type losses: each against the best of those.
  const bestL1 = L1_TYPE.filter((a) => n(a) > 0).sort((a, b) => meanSd(values(a, 'nme')).mean - meanSd(values(b, 'nme')).mean)[0];
  for (const v of VARIANTS) if (n(v.arm) > 0 && bestL1) ask(`Does ${v.label} beat ${label(bestL1)}, the best L1-type loss?`, v.arm, bestL1);

  const S = SETTING;
  const md: string[] = [BEGIN, '## Verdict: ACR against L2 and the L1-type losses (issue 11)', ''];
  md.push(`Generated by \`bench/compare/run.sh report\` from \`bench/results/compare/*/\` (${all.length} of ${rows.length} rows finished). ` +
    'A question is answered only when the 95 % interval of the ratio of mean NMEs (over seeds) excludes its threshold.', '');
  md.push(...verdict, '');
  md.push('### Setting (every row)', '');
  md.push(`- MobileNetV2 x${S.width} at ${S.inputSize} px, global-average-pooling head, ${S.epochs} epochs (${S.warmup} warm-up, cosine), batch ${S.batchSize}, Adam lr ${S.lr}, ` +
    `box jitter zoom ${S.augScale} / shift +-${S.augShift} (the accuracy recipe's, covering the detector), rotation, occlusion and colour augmentation, loss x${S.lossScale} ` +
    '(the reference\'s factor: at x1 Adam\'s epsilon damps L2\'s small gradients more than the L1-type losses\', a bias between arms).');
  md.push('- Faces: the 202 held-out 300-W faces of split seed 0 (never trained on, never used to pick a checkpoint): every number is the **last epoch**, ' +
    'ground-truth boxes, test-time flip averaging (the shipped default). NME inter-ocular in %, FR = share of faces above 10 %, AUC on [0, 0.1].');
  md.push(`- Hard quarters (the same ${hardSf.size} faces for every row, from ground truth only): farthest from their Smooth-Face (ASM fitted on the ${train.length} training faces, ` +
    `variance level ${SMOOTH_LEVEL}: ${asm.numComponents(SMOOTH_LEVEL)} components) and largest |yaw proxy| (lib/eval/hard.ts); they share ${[...hardSf].filter((id) => hardYaw.has(id)).length} faces.`);
  md.push('- Seeds change initialisation, sample order, augmentation and dropout; the split stays. Ratios are of the means over seeds, with a 95 % interval ' +
    '(delta method on the log of each mean, Welch degrees of freedom): seeds are the independent samples, not faces. Two arms within two standard errors get seeds 3 and 4.');
  md.push('- The whole matrix, resumable: `bench/compare/run.sh start` (two lanes of one thread on the 2-core machine), `status`, `stop`, `report`; `commands` prints every row\'s exact commands.', '');

  md.push('### Arms (mean ± sd over seeds)', '');
  const armsTable = [
    '| arm | seeds | NME % | FR % | AUC | hard Smooth-Face NME % | hard yaw NME % | NME / L2 [95 %] | NME / ACR [95 %] | training, per row |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const ms = (arm: string, m: Metric, d = 2) => {
    const xs = values(arm, m);
    if (xs.length === 0) return '–';
    const { mean, sd } = meanSd(xs);
    return xs.length > 1 ? `${f(mean, d)} ± ${f(sd, d)}` : `${f(mean, d)}`;
  };
  for (const a of ALL_ARMS as readonly Arm[]) {
    const done = byArm.get(a.arm)!;
    const variant = VARIANTS.includes(a);
    const queued = rows.some((r) => r.arm === a.arm);
    const seeds = done.length ? done.map((d) => d.seed).join(', ')
      : !variant ? 'none yet'
      : queued ? 'queued: ACR does not beat the best L1-type mean' : 'runs only if ACR does not beat the L1-type losses';
    const mins = done.length ? `${f(meanSd(done.map((d) => d.minutes)).mean, 0)} min` : '–';
    const vsL2 = a.arm === 'l2' ? '–' : ci(ratioCi(values(a.arm, 'nme'), values('l2', 'nme')));
    const vsAcr = a.arm === 'acr' ? '–' : ci(ratioCi(values(a.arm, 'nme'), values('acr', 'nme')));
    armsTable.push(`| ${a.label} (\`${a.arm}\`) | ${seeds} | ${ms(a.arm, 'nme')} | ${ms(a.arm, 'fr')} | ${ms(a.arm, 'auc', 4)} | ${ms(a.arm, 'sf')} | ${ms(a.arm, 'yaw')} | ${vsL2} | ${vsAcr} | ${mins} |`);
  }
  md.push(...armsTable);
  md.push('', 'Training time is the logged wall time of the steps and validation, with two rows sharing the 2-core machine (one thread each).', '');

  md.push('### Rows', '');
  md.push('| row | NME % | FR % | AUC | hard Smooth-Face % | hard yaw % | epochs |');
  md.push('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const d = all.find((x) => x.name === r.name);
    md.push(d ? `| ${r.name} | ${f(d.summary.nme)} | ${f(d.summary.failureRate)} | ${f(d.summary.auc, 4)} | ${f(metric(d, 'sf'))} | ${f(metric(d, 'yaw'))} | ${d.epochs}/${S.epochs} |` : `| ${r.name} | not finished | | | | | |`);
  }
  const closePairs = DECIDING_PAIRS.filter(([a, b]) => byArm.get(a)!.some((d) => d.seed > 2) || byArm.get(b)!.some((d) => d.seed > 2));
  if (closePairs.length) md.push('', `Seeds 3-4 were added for: ${closePairs.map(([a, b]) => `${a} vs ${b}`).join(', ')} (within two standard errors after 3 seeds).`);

  // CED per arm, the faces of all its seeds pooled.
  const ced = ALL_ARMS.filter((a) => n(a.arm) > 0).map((a) => ({ name: `${a.arm} (${n(a.arm)} seeds)`, errors: byArm.get(a.arm)!.flatMap((d) => [...d.perFace.values()].map((x) => x / 100)) }));
  const opts = { title: `300-W validation (202 faces), last epoch, all seeds pooled: x${S.width}/${S.inputSize}, ${S.epochs} epochs` };
  fs.writeFileSync(path.join(ROOT, 'docs', 'compare-ced.svg'), cedSvg(ced, opts));
  fs.writeFileSync(path.join(ROOT, 'docs', 'compare-ced.png'), await cedPng(ced, opts));
  md.push('', '![CED of every arm](compare-ced.png) ([SVG](compare-ced.svg))', END);

  const text = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '# Results\n';
  let next: string;
  if (text.includes(BEGIN) && text.includes(END)) next = text.split(BEGIN)[0] + md.join('\n') + text.split(END)[1];
  else {
    const nl = text.indexOf('\n');
    next = `${text.slice(0, nl + 1)}\n${md.join('\n')}\n${text.slice(nl + 1)}`;
  }
  fs.writeFileSync(DOC, next);

  // The README's summary: the verdict and the arms, between the same markers.
  const readme = path.join(ROOT, 'README.md');
  const rtext = fs.readFileSync(readme, 'utf8');
  if (rtext.includes(BEGIN) && rtext.includes(END)) {
    const summary = [BEGIN, `${all.length} of ${rows.length} rows finished (last epoch, 202 held-out faces, flip on; mean ± sd over seeds):`, '', ...verdict, '', ...armsTable, END];
    fs.writeFileSync(readme, rtext.split(BEGIN)[0] + summary.join('\n') + rtext.split(END)[1]);
  }
  console.log(`wrote the comparison block of ${DOC} and README.md (${all.length}/${rows.length} rows) and docs/compare-ced.svg/.png`);
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  });
}
