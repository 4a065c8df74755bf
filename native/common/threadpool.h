// One process-wide pool of worker threads, owned by the addon. Sized by ACR_NUM_THREADS or
// the core count. The calling thread takes part, so a pool of N threads runs N-1 workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace acr {

// fn(begin, end) is called on disjoint chunks covering [0, n). Work smaller than `grain`
// per thread runs inline on the caller. A call made while the pool is busy (another JS
// thread, or a nested call from inside a task) also runs inline: never a deadlock.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Number of threads used by parallel_for (workers + caller).
int num_threads();
// Resizes the pool (tests, benchmarks); n <= 0 restores the default.
void set_num_threads(int n);

}  // namespace acr
