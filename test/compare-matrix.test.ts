import t from 'tap';
import { ARMS, BASE_SEEDS, allRows, baseRows, trainArgs } from '../bench/compare/matrix';
import { meanSd, ratioCi, t975, withinTwoSe } from '../bench/compare/stats';

t.test('comparison matrix: seed-major base rows, extra seeds only for close deciding pairs', async (t) => {
  const base = baseRows();
  t.equal(base.length, ARMS.length * BASE_SEEDS.length);
  t.same(base.slice(0, ARMS.length).map((r) => r.seed), ARMS.map(() => 0), 'every arm at seed 0 first');
  t.same(allRows(() => null).map((r) => r.name), base.map((r) => r.name), 'no extra seeds before the base seeds are scored');

  // ACR clearly better than everything except L2, which it matches within noise.
  const nme = (name: string): number | null => {
    const [arm, seed] = [name.replace(/-s\d+$/, ''), Number(name.slice(name.lastIndexOf('-s') + 2))];
    const centre: Record<string, number> = { acr: 5, l2: 5.02, 'acr-shuffled': 6, smoothl1: 6, l1: 6, wing: 6, 'acr-aligned': 7 };
    return centre[arm] + [0, 0.05, -0.05, 0.02, -0.02][seed];
  };
  const extra = allRows(nme).slice(base.length).map((r) => r.name);
  t.same(extra, ['l2-s3', 'acr-s3', 'l2-s4', 'acr-s4'], 'seeds 3 and 4 of the close pair only');

  // ACR no better than smooth L1 after the base seeds: its variants join, seeds 0-2.
  const losing = (name: string) => (name.startsWith('smoothl1-') ? 4 : nme(name));
  const withVariants = allRows(losing).slice(base.length).map((r) => r.name);
  t.same(withVariants.slice(0, 6), ['acr-px-s0', 'acr-floor-s0', 'acr-px-s1', 'acr-floor-s1', 'acr-px-s2', 'acr-floor-s2']);
  t.match(trainArgs(allRows(losing).find((r) => r.name === 'acr-px-s1')!).join(' '), /--seed 1 .*--acr-units pixels$/);
  t.match(trainArgs(allRows(losing).find((r) => r.name === 'acr-floor-s0')!).join(' '), /--phi-floor 0\.5$/);

  const acr = base.find((r) => r.name === 'acr-shuffled-s1')!;
  const a = trainArgs(acr).join(' ');
  t.match(a, /--split-seed 0 --seed 1 /, 'one split for every seed');
  t.match(a, /--epochs 80 /);
  t.match(a, /--loss acr --lambda 1 --phi-source shuffled$/);
  t.notMatch(trainArgs(base[0]).join(' '), /--lambda|--phi-source/, 'ACR flags only for ACR');
});

t.test('statistics over seeds', async (t) => {
  const m = meanSd([1, 2, 3, 4]);
  t.equal(m.mean, 2.5);
  t.ok(Math.abs(m.sd - Math.sqrt(5 / 3)) < 1e-12, 'sample sd (n - 1)');
  t.equal(t975(1), 12.706);
  t.equal(t975(4.9), 2.776, 'df rounded down');
  t.ok(t975(35) >= 2.03 && t975(1e6) === 1.98, 'conservative past the table');
  t.equal(ratioCi([1], [1, 2]), null, 'one seed: no interval');

  // Equal spreads, means 10 vs 12: ratio 5/6; the interval brackets it and matches a hand computation.
  const a = [9, 10, 11], b = [11, 12, 13];
  const c = ratioCi(a, b)!;
  t.ok(Math.abs(c.r - 10 / 12) < 1e-12);
  const se = Math.sqrt(1 / (3 * 100) + 1 / (3 * 144));
  const va = 1 / 300, vb = 1 / 432;
  const df = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 2);
  t.ok(df > 3 && df < 4, `Welch df ${df}`);
  t.ok(Math.abs(c.lo - (10 / 12) * Math.exp(-3.182 * se)) < 1e-12 && Math.abs(c.hi - (10 / 12) * Math.exp(3.182 * se)) < 1e-12);
  t.ok(c.hi > 1, '2 sd apart with 3 seeds each: not decided (t = 3.18 at ~4 df)');
  t.ok(ratioCi([9, 10, 11], [13, 14, 15])!.hi < 1, '4 sd apart: decided');
  t.ok(ratioCi([9, 10, 11], [9.5, 10.5, 11.5])!.hi > 1, 'half an sd apart: not decided');
  t.equal(withinTwoSe([9, 10, 11], [9.5, 10.5, 11.5]), true);
  t.equal(withinTwoSe([9, 10, 11], [14, 15, 16]), false);
});
