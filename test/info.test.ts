import t from 'tap';
import { info, setIsa, setNumThreads } from '../lib/index';

t.test('info reports the build and the run-time choices', async (t) => {
  const i = info();
  t.match(i.isa, /^(scalar|avx2|avx512)$/);
  t.match(i.isaDetected, /^(scalar|avx2|avx512)$/);
  t.ok(i.threads >= 1);
  t.type(i.cudaCompiled, 'boolean');
  t.ok(i.gpuCount >= 0);
  if (i.gpuCount === 0) t.equal(i.gpuName, '');
});

t.test('setIsa never raises the level above the CPU', async (t) => {
  const detected = info().isaDetected;
  t.equal(setIsa('scalar'), 'scalar');
  t.equal(info().isa, 'scalar');
  const back = setIsa('avx512');
  t.equal(back, detected === 'avx512' ? 'avx512' : detected);
  t.throws(() => setIsa('sse9' as never), { code: 'ERR_ARG', name: 'ArgumentError' });
});

t.test('setNumThreads resizes the pool and validates', async (t) => {
  t.equal(setNumThreads(3), 3);
  t.equal(info().threads, 3);
  t.ok(setNumThreads(0) >= 1);
  t.throws(() => setNumThreads(-1), { code: 'ERR_RANGE' });
  t.throws(() => setNumThreads(1.5), { code: 'ERR_RANGE' });
});
