import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'fs';
import * as path from 'path';
import t from 'tap';
import { formatPts, parsePts, readPts } from '../lib/data/pts';
import { parseWflwList } from '../lib/data/wflw';
import { parseJsonl } from '../lib/data/jsonl';
import { loadDataset, splitByIds, splitDataset } from '../lib/data/dataset';
import type { FaceRecord } from '../lib/data/types';
import { ringLandmarks, tempDir, texture, writeImage } from './helpers/data-fixtures';

const STD = 'version: 1\nn_points: 3\n{\n1 2\n3.5 4.25\n-1e1 1E+2\n}\n';

t.test('.pts: standard header, 1-based -> 0-based', async (t) => {
  t.same(Array.from(parsePts(STD, 'a.pts')), [0, 1, 2.5, 3.25, -11, 99]);
  t.same(Array.from(parsePts(STD.replace(/\n/g, '\r\n'), 'a.pts')), [0, 1, 2.5, 3.25, -11, 99], 'CRLF');
  t.same(Array.from(parsePts('\uFEFF' + STD, 'a.pts')), [0, 1, 2.5, 3.25, -11, 99], 'byte-order mark');
  t.same(Array.from(parsePts('\n  version: 1\n n_points:  2 \n\n{\n 10  20 \n\n30\t40\n}\n\n', 'a.pts')), [9, 19, 29, 39], 'blank lines and spaces');
});

t.test('.pts: header-less files, with and without braces, any count', async (t) => {
  t.same(Array.from(parsePts('1 1\n2 2\n3 3\n4 4\n5 5\n', 'b.pts')), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  t.same(Array.from(parsePts('{\n1 1\n2 2\n}\n', 'b.pts')), [0, 0, 1, 1]);
});

t.test('.pts: errors name the file and the line', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['version: 1\nn_points: 3\n{\n1 2\n3 4\n}\n', /^bad\.pts: n_points says 3 but the file has 2 points/],
    ['version: 1\nn_points: 2\n{\n1 2\n3 x4\n}\n', /^bad\.pts:5: non-numeric coordinate "x4"/],
    ['version: 1\nn_points: 2\n{\n1 2\n3 4\n', /^bad\.pts:5: missing '}'/],
    ['version: 1\nn_points: 2\n1 2\n3 4\n}\n', /^bad\.pts:3: missing '\{' after the header/],
    ['version: 1\nn_points: 2\n{\n1 2 3\n3 4\n}\n', /^bad\.pts:4: expected "x y", got 3 values/],
    ['version: 1\nn_points: two\n{\n}\n', /^bad\.pts:2: n_points: expected a non-negative integer/],
    ['version: 1\nn_points: 1\n{\n1 2\n}\ntrailing\n', /^bad\.pts:6: unexpected text after/],
    ['1 2\n}\n', /^bad\.pts:2: '\}' without a matching '\{'/],
    ['', /^bad\.pts: no points/],
    ['version: 1\nwidth: 3\n{\n1 2\n}\n', /^bad\.pts:2: unknown header field "width"/],
    ['1 NaN\n', /^bad\.pts:1: non-numeric coordinate "NaN"/],
  ];
  for (const [text, msg] of cases) t.throws(() => parsePts(text, 'bad.pts'), { code: 'ERR_PARSE', name: 'ParseError', message: msg }, msg.source);
  t.throws(() => parsePts(STD, 'a.pts', { numLandmarks: 68 }), { code: 'ERR_PARSE', message: /expected 68 points, got 3/ });
  await t.rejects(readPts('/nonexistent/x.pts'), { code: 'ERR_IO', message: /x\.pts: cannot read/ });
});

t.test('.pts: formatPts round-trips through parsePts', async (t) => {
  const lm = Float32Array.from([0, 0, 10.5, 20.25, 255, 3.125]);
  t.same(Array.from(parsePts(formatPts(lm), 'r.pts')), Array.from(lm));
  t.match(formatPts(lm), /^version: 1\nn_points: 3\n\{\n1 1\n11\.5 21\.25\n256 4\.125\n\}\n$/);
});

function wflwLine(L: number, img: string, opts: { box?: number[]; attrs?: number[]; bad?: string } = {}): string {
  const c: Array<string | number> = [];
  for (let k = 0; k < L; k++) c.push(10 + k, 20 + k / 2);
  if (opts.bad) c[3] = opts.bad;
  return [...c, ...(opts.box ?? [5, 6, 105, 126]), ...(opts.attrs ?? [1, 0, 0, 1, 0, 1]), img].join(' ');
}

t.test('WFLW list: coordinates, box x0 y0 x1 y1 -> [x, y, w, h], attributes, path; L inferred', async (t) => {
  const text = [wflwLine(98, '51--Dresses/a.jpg'), '', wflwLine(98, '2--Demo/b.jpg', { attrs: [0, 1, 1, 0, 1, 0] })].join('\n');
  const out = parseWflwList(text, 'list.txt', '/imgs');
  t.equal(out.length, 2);
  const r = out[0].record!;
  t.equal(r.landmarks.length, 196);
  t.same(Array.from(r.landmarks.slice(0, 4)), [10, 20, 11, 20.5]);
  t.same(r.box, [5, 6, 100, 120]);
  t.same(r.attributes, { pose: 1, expression: 0, illumination: 0, makeup: 1, occlusion: 0, blur: 1 });
  t.equal(r.imagePath, path.resolve('/imgs/51--Dresses/a.jpg'));
  t.equal(r.source, '51--Dresses');
  t.equal(out[1].line, 3);
  t.equal(out[1].record!.id, '2--Demo/b#3');
  t.equal(parseWflwList(wflwLine(5, 'x.jpg'), 'l.txt', '/').length, 1, 'another landmark count works');
});

t.test('WFLW list: bad lines become ParseErrors with file:line', async (t) => {
  const text = [wflwLine(98, 'a.jpg'), wflwLine(98, 'b.jpg', { bad: 'abc' }), wflwLine(97, 'c.jpg'), wflwLine(98, 'd.jpg', { box: [50, 6, 10, 126] }), '1 2 3'].join('\n');
  const out = parseWflwList(text, 'l.txt', '/');
  t.ok(out[0].record);
  t.match(out[1].error!.message, /^l\.txt:2: field 4: non-numeric value "abc"/);
  t.match(out[2].error!.message, /^l\.txt:3: expected 98 points, got 97/);
  t.match(out[3].error!.message, /^l\.txt:4: box .* x_max > x_min/);
  t.match(out[4].error!.message, /^l\.txt:5: expected 2L coordinates/);
});

t.test('JSONL: nested or flat landmarks, optional box, errors per line', async (t) => {
  const text = [
    JSON.stringify({ image: 'a.jpg', landmarks: [[1, 2], [3, 4]], box: [0, 0, 10, 12] }),
    JSON.stringify({ image: 'sub/b.png', landmarks: [5, 6, 7, 8], id: 'bee', source: 'x' }),
    '{not json',
    JSON.stringify({ image: 'c.jpg', landmarks: [[1, 'a'], [3, 4]] }),
    JSON.stringify({ image: 'd.jpg', landmarks: [1, 2, 3] }),
    JSON.stringify({ image: 'e.jpg', landmarks: [1, 2, 3, 4], box: [0, 0, -1, 3] }),
    JSON.stringify({ landmarks: [1, 2, 3, 4] }),
    JSON.stringify({ image: 'f.jpg', landmarks: [1, 2, 3, 4, 5, 6] }),
  ].join('\n');
  const out = parseJsonl(text, '/data/set.jsonl');
  t.same(Array.from(out[0].record!.landmarks), [1, 2, 3, 4]);
  t.same(out[0].record!.box, [0, 0, 10, 12]);
  t.equal(out[0].record!.imagePath, path.resolve('/data/a.jpg'));
  t.equal(out[1].record!.id, 'bee');
  t.equal(out[1].record!.source, 'x');
  t.match(out[2].error!.message, /set\.jsonl:3: invalid JSON/);
  t.match(out[3].error!.message, /set\.jsonl:4: "landmarks"\[0\]: expected \[x, y\]/);
  t.match(out[4].error!.message, /set\.jsonl:5: "landmarks": a flat list needs an even length/);
  t.match(out[5].error!.message, /set\.jsonl:6: "box"/);
  t.match(out[6].error!.message, /set\.jsonl:7: "image"/);
  t.match(out[7].error!.message, /set\.jsonl:8: expected 2 points, got 3/);
});

/** A 300-W-like folder: nested sources, 1-based .pts, generated images. */
async function makePtsFolder(dir: string, L = 5): Promise<void> {
  const faces: Array<[string, string]> = [
    ['lfpw_0001', '.jpg'],
    ['lfpw_0002', '.png'],
    ['helen_0001', '.jpg'],
    ['sub/afw_0001', '.jpg'],
  ];
  for (const [name, ext] of faces) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    await writeImage(file + ext, texture(64, 48));
    writeFileSync(file + '.pts', formatPts(ringLandmarks(L, 32, 24, 10, 8)));
  }
}

t.test('loadDataset: folder of image + .pts searched recursively', async (t) => {
  const dir = tempDir(t);
  await makePtsFolder(dir);
  writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
  // A linked-in folder is followed; a dangling link is ignored.
  const extra = tempDir(t);
  await writeImage(path.join(extra, 'zz_0001.jpg'), texture(64, 48));
  writeFileSync(path.join(extra, 'zz_0001.pts'), formatPts(ringLandmarks(5, 32, 24, 10, 8)));
  symlinkSync(extra, path.join(dir, 'linked'));
  symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling.pts'));
  const ds = await loadDataset(dir);
  t.equal(ds.format, 'pts');
  t.equal(ds.numLandmarks, 5);
  t.same(ds.records.map((r) => r.id), ['helen_0001', 'lfpw_0001', 'lfpw_0002', 'linked/zz_0001', 'sub/afw_0001']);
  t.same(ds.records.map((r) => r.source), ['helen', 'lfpw', 'lfpw', 'linked', 'sub']);
  t.equal(path.extname(ds.records[2].imagePath), '.png');
  const lm = ringLandmarks(5, 32, 24, 10, 8);
  for (let k = 0; k < 10; k++) t.ok(Math.abs(ds.records[0].landmarks[k] - lm[k]) < 1e-3, 'coordinates back to 0-based');
  t.match(ds.summary, /^5 faces x 5 landmarks from .* \(pts\), 0 skipped$/);
  const dec = await loadDataset({ path: dir, format: 'pts' }, { verifyImages: 'decode' });
  t.equal(dec.records.length, 5);
});

t.test('loadDataset: bad data throws naming the file, or is skipped and counted', async (t) => {
  const dir = tempDir(t);
  await makePtsFolder(dir);
  writeFileSync(path.join(dir, 'noimage.pts'), formatPts(ringLandmarks(5, 1, 1, 1, 1)));
  writeFileSync(path.join(dir, 'wrongcount.pts'), formatPts(ringLandmarks(6, 1, 1, 1, 1)));
  await writeImage(path.join(dir, 'wrongcount.jpg'), texture(8, 8));
  writeFileSync(path.join(dir, 'nonnum.pts'), 'version: 1\nn_points: 5\n{\n1 1\n2 2\n3 z\n4 4\n5 5\n}\n');
  await writeImage(path.join(dir, 'nonnum.jpg'), texture(8, 8));
  writeFileSync(path.join(dir, 'corrupt.pts'), formatPts(ringLandmarks(5, 1, 1, 1, 1)));
  writeFileSync(path.join(dir, 'corrupt.jpg'), Buffer.from('this is not a jpeg'));

  await t.rejects(loadDataset(dir), { code: 'ERR_IO', message: /noimage\.pts: no image next to it/ });
  const warnings: string[] = [];
  const ds = await loadDataset(dir, { onError: 'skip', onWarning: (m) => warnings.push(m) });
  t.equal(ds.records.length, 5, 'the corrupt image is only found by decoding');
  t.equal(ds.skipped.length, 3);
  t.equal(warnings.length, 3);
  const reasons = ds.skipped.map((s) => s.reason).join('\n');
  t.match(reasons, /nonnum\.pts:6: non-numeric coordinate "z"/);
  t.match(reasons, /wrongcount\.pts: expected 5 points \(as the first face\), got 6/);
  t.match(reasons, /noimage\.pts: no image/);
  t.match(ds.summary, /5 faces x 5 landmarks .* 3 skipped/);

  const dec = await loadDataset(dir, { onError: 'skip', verifyImages: 'decode', onWarning: () => undefined });
  t.equal(dec.records.length, 4);
  t.match(dec.skipped.map((s) => s.reason).join('\n'), /corrupt\.pts: .*corrupt\.jpg: cannot decode image/);
  await t.rejects(loadDataset(dir, { numLandmarks: 6, onError: 'throw' }), { code: 'ERR_PARSE' });
});

t.test('loadDataset: WFLW list and JSONL detected by extension; missing images reported', async (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'WFLW_images', '1--Handshaking'), { recursive: true });
  mkdirSync(path.join(dir, 'WFLW_annotations'), { recursive: true });
  await writeImage(path.join(dir, 'WFLW_images', '1--Handshaking', 'a.jpg'), texture(40, 40));
  const list = path.join(dir, 'WFLW_annotations', 'list_98pt_rect_attr_train.txt');
  writeFileSync(list, [wflwLine(98, '1--Handshaking/a.jpg'), wflwLine(98, '1--Handshaking/missing.jpg')].join('\n') + '\n');
  await t.rejects(loadDataset(list), { code: 'ERR_IO', message: /list_98pt_rect_attr_train\.txt:2: image .*missing\.jpg is missing/ });
  const w = await loadDataset(list, { onError: 'skip', onWarning: () => undefined });
  t.equal(w.format, 'wflw');
  t.equal(w.numLandmarks, 98);
  t.equal(w.records.length, 1);
  t.equal(w.skipped[0].line, 2);

  await writeImage(path.join(dir, 'j.png'), texture(20, 20));
  const jl = path.join(dir, 'set.jsonl');
  writeFileSync(jl, JSON.stringify({ image: 'j.png', landmarks: [[1, 2], [3, 4], [5, 6]] }) + '\n');
  const j = await loadDataset(jl);
  t.equal(j.format, 'jsonl');
  t.equal(j.numLandmarks, 3);

  await t.rejects(loadDataset(path.join(dir, 'nope')), { code: 'ERR_IO', message: /no such file or folder/ });
  await t.rejects(loadDataset(path.join(dir, 'j.png')), { code: 'ERR_ARG', message: /cannot tell the format/ });
  await t.rejects(loadDataset(dir, { onError: 'ignore' as never }), { code: 'ERR_ARG', message: /options\.onError/ });
  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  await t.rejects(loadDataset(empty), { code: 'ERR_IO', message: /no \.pts files found/ });
});

function fakeRecords(): FaceRecord[] {
  const recs: FaceRecord[] = [];
  const counts: Record<string, number> = { lfpw: 40, helen: 30, afw: 10 };
  for (const [src, n] of Object.entries(counts)) {
    for (let i = 0; i < n; i++) recs.push({ id: `${src}_${String(i).padStart(3, '0')}`, imagePath: `/x/${src}${i}.jpg`, landmarks: new Float32Array(4) });
  }
  return recs;
}

t.test('splitDataset: seeded, stratified by source, independent of input order', async (t) => {
  const recs = fakeRecords();
  const a = splitDataset(recs, { valFraction: 0.2, seed: 7 });
  t.equal(a.val.length, 16);
  t.equal(a.train.length, 64);
  const bySrc = (ids: string[], s: string) => ids.filter((id) => id.startsWith(s)).length;
  t.same([bySrc(a.valIds, 'lfpw'), bySrc(a.valIds, 'helen'), bySrc(a.valIds, 'afw')], [8, 6, 2], 'each source keeps its share');
  t.same(new Set([...a.trainIds, ...a.valIds]).size, 80, 'disjoint and complete');
  const b = splitDataset(recs.slice().reverse(), { valFraction: 0.2, seed: 7 });
  t.same(b.valIds.slice().sort(), a.valIds.slice().sort(), 'input order does not matter');
  const c = splitDataset(recs, { valFraction: 0.2, seed: 8 });
  t.not(c.valIds.join(), a.valIds.join(), 'another seed, another split');
  t.same(splitByIds(recs, a.valIds).trainIds, a.trainIds, 'a saved split is restored');
  t.equal(splitDataset(recs, { valFraction: 0, seed: 1 }).val.length, 0);
  t.throws(() => splitDataset(recs, { valFraction: 1, seed: 1 }), { code: 'ERR_ARG' });
  t.throws(() => splitByIds(recs, ['nope']), { code: 'ERR_ARG', message: /not in the dataset/ });
});

const REAL = path.resolve(__dirname, '../../shared/data/300w/train');
t.test('real 300-W training set: 2,012 faces x 68 points', { skip: existsSync(REAL) ? false : `${REAL} is absent` }, async (t) => {
  const ds = await loadDataset(REAL);
  t.equal(ds.records.length, 2012);
  t.equal(ds.numLandmarks, 68);
  t.equal(ds.skipped.length, 0);
  const n = (s: string) => ds.records.filter((r) => r.source === s).length;
  t.same([n('lfpw'), n('helen'), n('afw')], [805, 870, 337]);
  // Every crop is 256x256 with the face about in the middle half (see the data README).
  const outside = ds.records.filter((r) => r.landmarks.some((v) => !(v > 16 && v < 240))).map((r) => r.id);
  t.same(outside, [], 'all points well inside the 256x256 crops');
  const sp = splitDataset(ds.records, { valFraction: 0.1, seed: 0 });
  t.equal(sp.val.length, Math.round(805 * 0.1) + Math.round(870 * 0.1) + Math.round(337 * 0.1));
});

t.test('non-finite and degenerate landmarks: parse-time errors with file:line; --skip-bad drops them', async (t) => {
  t.throws(() => parsePts('version: 1\nn_points: 2\n{\n1 2\n1e999 4\n}\n', 'inf.pts'), { code: 'ERR_PARSE', message: /^inf\.pts:5: coordinate 1e999 is not a finite number/ });
  t.throws(() => parsePts('1 -1e400\n', 'ninf.pts'), { code: 'ERR_PARSE', message: /^ninf\.pts:1: coordinate -1e400 is not a finite number/ });
  const dir = tempDir(t);
  await makePtsFolder(dir);
  const good = (await loadDataset(dir)).records.length;
  writeFileSync(path.join(dir, 'same.pts'), formatPts([5, 5, 5, 5, 5, 5, 5, 5, 5, 5]));
  await writeImage(path.join(dir, 'same.jpg'), texture(8, 8));
  writeFileSync(path.join(dir, 'line.pts'), formatPts([1, 5, 2, 5, 3, 5, 4, 5, 5, 5]));
  await writeImage(path.join(dir, 'line.jpg'), texture(8, 8));
  await t.rejects(loadDataset(dir), { code: 'ERR_PARSE', message: /(same|line)\.pts: all 5 points/ });
  const ds = await loadDataset(dir, { onError: 'skip', onWarning: () => undefined });
  t.equal(ds.records.length, good, 'the good faces stay');
  const reasons = ds.skipped.map((s) => s.reason).join('\n');
  t.match(reasons, /same\.pts: all 5 points are the same point \(5, 5\): not a face/);
  t.match(reasons, /line\.pts: all 5 points lie on one horizontal line: not a face/);
  const jsonl = path.join(dir, 'faces.jsonl');
  writeFileSync(jsonl, `${JSON.stringify({ image: 'same.jpg', landmarks: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] })}\n`);
  await t.rejects(loadDataset(jsonl), { code: 'ERR_PARSE', message: /faces\.jsonl:1: all 5 points are the same point/ });
});
