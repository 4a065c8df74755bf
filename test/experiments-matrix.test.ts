import t from 'tap';
import { ACR_CANDIDATES, OTHER_CANDIDATES, SWEEP, matrix, trainArgs } from '../bench/experiments/matrix';

t.test('experiment matrix: the sweep, then seed repeats chosen by the finished sweep', async (t) => {
  t.same(SWEEP.map((e) => e.name), ['acr-s0', 'l2-s0', 'l1-s0', 'smoothl1-s0', 'wing-s0', 'awing-s0', 'acr-lam0.5-s0', 'acr-lam2-s0', 'acr-lam4-s0', 'acr-landmark-s0']);
  const none = matrix(() => null);
  t.same(none.experiments.map((e) => e.name).slice(SWEEP.length), ['l2-s1', 'l2-s2'], 'L2 repeats need no choice');
  t.equal(none.blocked.length, 2);
  t.equal(none.acrBest, null);

  const nme: Record<string, number> = { 'acr-s0': 7, 'acr-lam0.5-s0': 7.2, 'acr-lam2-s0': 6.8, 'acr-lam4-s0': 6.9, 'acr-landmark-s0': 7.1, 'l1-s0': 7.5, 'smoothl1-s0': 7.4, 'wing-s0': 7.3, 'awing-s0': 7.6 };
  const partial = matrix((n) => (n === 'wing-s0' ? null : nme[n] ?? null));
  t.equal(partial.acrBest, 'acr-lam2-s0');
  t.equal(partial.otherBest, null, 'one unfinished candidate blocks the choice');
  const all = matrix((n) => nme[n] ?? null);
  t.same(all.blocked, []);
  t.same(all.experiments.map((e) => e.name).slice(SWEEP.length), ['l2-s1', 'l2-s2', 'acr-lam2-s1', 'acr-lam2-s2', 'wing-s1', 'wing-s2']);
  const rep = all.experiments.find((e) => e.name === 'acr-lam2-s2')!;
  t.match(rep, { loss: 'acr', lambda: 2, phiMode: 'coordinate', seed: 2, group: 'seeds' });
  t.ok(ACR_CANDIDATES.every((n) => n.startsWith('acr')) && !OTHER_CANDIDATES.includes('l2-s0'));

  const a = trainArgs(rep).join(' ');
  t.match(a, /--split-seed 0 --seed 2 --loss acr --lambda 2 --phi-mode coordinate/, 'one split for every seed');
  t.notMatch(trainArgs(SWEEP[1]).join(' '), /--lambda/, 'ACR flags only for ACR');
});
