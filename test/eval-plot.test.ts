import { readFileSync } from 'fs';
import * as path from 'path';
import t from 'tap';
import { cedPng, cedSvg } from '../lib/eval/plot';
import { overlayPng, perImageCsv, writeEvaluationReport } from '../lib/eval/report';
import { aucAt } from '../lib/eval/metrics';
import type { FaceRecord } from '../lib/data/types';
import { ringLandmarks, sharp, tempDir, texture, writeImage } from './helpers/data-fixtures';

const A = [0.02, 0.03, 0.05, 0.08, 0.2];
const B = [0.01, 0.04, 0.04, 0.06];

t.test('CED SVG: one step path per run, legend with AUC, axes and grid', async (t) => {
  const svg = cedSvg([{ name: 'acr', errors: A }, { name: 'l2 <base>', errors: B }], { title: 'CED & co', width: 500, height: 400 });
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="500" height="400"/);
  t.equal((svg.match(/<path /g) ?? []).length, 2);
  t.match(svg, `acr (AUC ${aucAt(A).toFixed(4)})`);
  t.match(svg, 'l2 &lt;base&gt; (AUC', 'names are escaped');
  t.match(svg, 'CED &amp; co');
  t.match(svg, 'NME (%)');
  t.match(svg, 'Fraction of faces');
  for (const tick of ['>0<', '>2<', '>4<', '>6<', '>8<', '>10<', '>0.5<', '>1.0<']) t.match(svg, tick, `tick ${tick}`);
  // Run A: ends at 4/5 of the faces at NME 0.1 (one face fails).
  const d = /<path d="([^"]+)"/.exec(svg)![1];
  const nums = d.match(/-?\d+(\.\d+)?/g)!.map(Number);
  const lastY = nums[nums.length - 1];
  const top = 20 + 20, bottom = 400 - 52; // margins with a title
  t.ok(Math.abs(lastY - (top + (1 - 0.8) * (bottom - top))) < 0.01, `last point at 80% of faces (y=${lastY})`);
  t.throws(() => cedSvg([]), { code: 'ERR_ARG' });
  t.throws(() => cedSvg([{ name: 'x', errors: [] }]), { code: 'ERR_SHAPE' });
  t.throws(() => cedSvg([{ name: 'x', errors: A }], { threshold: 0 }), { code: 'ERR_ARG' });
  const wide = cedSvg([{ name: 'x', errors: A }], { threshold: 0.08 });
  t.match(wide, '>8<', 'another threshold rescales the axis');
});

t.test('CED PNG: rendered by sharp at the requested size', async (t) => {
  const png = await cedPng([{ name: 'a', errors: A }, { name: 'b', errors: B }], { width: 320, height: 240 });
  const meta = await sharp(png).metadata();
  t.same([meta.format, meta.width, meta.height], ['png', 320, 240]);
  const { data } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let coloured = 0;
  for (let i = 0; i < data.length; i += 3) if (Math.abs(data[i] - data[i + 2]) > 80) coloured++;
  t.ok(coloured > 100, `curves are drawn in colour (${coloured} pixels)`);
});

t.test('per-image CSV: header, percent, failure flag, attribute columns, quoting', async (t) => {
  const csv = perImageCsv([
    { id: 'a', nme: 0.0312, imagePath: '/x/a.jpg', attributes: { pose: 1 } },
    { id: 'b,"q"', nme: 0.15 },
  ]);
  t.equal(csv, 'id,nme_percent,failed,image,pose\na,3.1200,0,/x/a.jpg,1\n"b,""q""",15.0000,1,,\n');
});

t.test('writeEvaluationReport: CSV, JSON summary, CED plots and the worst faces', async (t) => {
  const dir = tempDir(t);
  const recs: FaceRecord[] = [];
  const pred: number[] = [];
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, `f${i}.png`);
    await writeImage(file, texture(60, 50, i));
    const lm = ringLandmarks(4, 30, 25, 12, 10);
    recs.push({ id: `f${i}`, imagePath: file, landmarks: lm, source: i < 2 ? 'a' : 'b', attributes: { blur: i % 2 } });
    for (let k = 0; k < 8; k++) pred.push(lm[k] + (k % 2 ? 0 : i)); // face i: every x off by i px
  }
  const out = path.join(dir, 'report');
  const res = await writeEvaluationReport(out, recs, pred, { normaliser: 'box-diagonal', worst: 3, name: 'tiny', meta: { loss: 'acr' } });
  t.same(res.files.map((f) => path.basename(f)), ['per_image.csv', 'summary.json', 'ced.svg', 'ced.png', 'worst.png']);
  const diag = Math.hypot(24, 20); // 4 points on a 12 x 10 ellipse: box 24 x 20
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
  t.equal(summary.name, 'tiny');
  t.equal(summary.loss, 'acr');
  t.equal(summary.count, 5);
  // Subsets: blur = faces 1 and 3 (x off by 1 and 3 px), source a = faces 0 and 1, b = 2, 3, 4.
  t.same(Object.keys(summary.subsets).sort(), ['blur', 'source:a', 'source:b']);
  t.ok(Math.abs(summary.subsets.blur.nme - (100 * 2) / diag) < 1e-3, 'blur subset mean NME');
  t.equal(summary.subsets['source:b'].count, 3);
  t.ok(Math.abs(summary.subsets['source:a'].medianNme - (100 * 0.5) / diag) < 1e-3);
  t.ok(Math.abs(summary.nme - (100 * (0 + 1 + 2 + 3 + 4)) / 5 / diag) < 1e-3, `mean NME ${summary.nme}`);
  const rows = readFileSync(path.join(out, 'per_image.csv'), 'utf8').trim().split('\n');
  t.equal(rows.length, 6);
  t.match(rows[5], /^f4,/);
  const meta = await sharp(path.join(out, 'worst.png')).metadata();
  t.same([meta.width, meta.height], [3 * 256, 256], 'three worst faces in one row');
  t.match(readFileSync(path.join(out, 'ced.svg'), 'utf8'), 'tiny (AUC');
  await t.rejects(writeEvaluationReport(out, recs, pred.slice(1), { normaliser: 'box-diagonal' }), { code: 'ERR_SHAPE' });
});

t.test('overlayPng: a grid of tiles, wrong shapes rejected', async (t) => {
  const img = texture(40, 40);
  const lm = ringLandmarks(4, 20, 20, 8, 8);
  const png = await overlayPng([{ image: img, gt: lm, pred: lm, label: 'x' }, { image: img, gt: lm, pred: lm }, { image: img, gt: lm, pred: lm }], { tile: 64, columns: 2 });
  const meta = await sharp(png).metadata();
  t.same([meta.width, meta.height], [128, 128]);
  await t.rejects(overlayPng([{ image: img, gt: lm, pred: lm.subarray(2) }]), { code: 'ERR_SHAPE' });
  await t.rejects(overlayPng([]), { code: 'ERR_ARG' });
});
