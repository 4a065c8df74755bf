/**
 * The libtorch peer of the training-step benchmarks (bench/libtorch/, built by its build.sh when
 * libtorch is installed): where its binary is, and the environment it runs in.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function libtorchBinary(): string | null {
  const p = path.join(__dirname, 'libtorch', 'build', 'mobilenetv2_train');
  return fs.existsSync(p) ? p : null;
}

/**
 * The libtorch peer as a user who tunes it runs it (see ../shared/docs/toolchain.md): jemalloc
 * preloaded with decay off (freed pages stay mapped: no page faults on the next step's
 * allocations), OpenBLAS (pthread build, 1 BLAS thread: the ops' own OpenMP threads are the
 * parallelism), channels-last tensors (in mobilenetv2_train.cpp), the better of 1 and 2 threads.
 * A missing piece falls back (glibc malloc with huge pages; the system libblas) and is recorded.
 */
export interface PeerSettings {
  env: Record<string, string>;
  allocator: string;
  blas: string;
  memoryFormat: 'channels-last';
  threads: string;
}

function multiarchLibdir(): string | null {
  for (const d of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', `/usr/lib/${process.arch === 'x64' ? 'x86_64' : process.arch}-linux-gnu`]) {
    if (fs.existsSync(d)) return d;
  }
  return null;
}

export function peerSettings(): PeerSettings {
  const lib = multiarchLibdir();
  const env: Record<string, string> = { OPENBLAS_NUM_THREADS: '1' };
  let allocator: string, blas: string;
  const jemalloc = lib && path.join(lib, 'libjemalloc.so.2');
  if (jemalloc && fs.existsSync(jemalloc)) {
    env.LD_PRELOAD = jemalloc;
    env.MALLOC_CONF = 'dirty_decay_ms:-1,muzzy_decay_ms:-1';
    allocator = `jemalloc (LD_PRELOAD ${jemalloc}, MALLOC_CONF ${env.MALLOC_CONF})`;
  } else {
    env.GLIBC_TUNABLES = 'glibc.malloc.hugetlb=1';
    allocator = 'glibc malloc, glibc.malloc.hugetlb=1 (libjemalloc2 not installed)';
  }
  const openblas = lib && path.join(lib, 'openblas-pthread');
  if (openblas && fs.existsSync(path.join(openblas, 'libblas.so.3'))) {
    env.LD_LIBRARY_PATH = [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    blas = `OpenBLAS pthread (LD_LIBRARY_PATH ${openblas}, OPENBLAS_NUM_THREADS 1)`;
  } else {
    blas = 'the system libblas.so.3 (libopenblas0-pthread not installed)';
  }
  return { env, allocator, blas, memoryFormat: 'channels-last', threads: 'best of 1 and 2' };
}
