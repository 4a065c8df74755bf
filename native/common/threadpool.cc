#include "common/threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace acr {
namespace {

int default_threads() {
  if (const char* env = std::getenv("ACR_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return std::min(n, 256);
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(std::min(hc, 256u));
}

thread_local bool t_inside_task = false;

// How long a thread polls before sleeping on a condition variable (ACR_SPIN_US, default 50 us;
// 0: never). A training step runs ~1000 kernels a few tens of microseconds apart; waking a
// sleeping thread costs about as much, so a short poll lets workers join small kernels at all.
// Bounded, so an idle pool costs nothing after 50 us.
std::chrono::microseconds spin_time() {
  static const std::chrono::microseconds t = [] {
    const char* env = std::getenv("ACR_SPIN_US");
    const int us = env ? std::atoi(env) : 50;
    return std::chrono::microseconds(std::max(0, std::min(us, 10000)));
  }();
  return t;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// Polls `done` for up to spin_time(); true if it became true.
template <typename F>
bool spin_until(F&& done) {
  const auto limit = spin_time();
  if (limit.count() == 0) return done();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1;; ++i) {
    if (done()) return true;
    cpu_relax();
    if ((i & 63) == 0 && std::chrono::steady_clock::now() - t0 > limit) return false;
  }
}

class Pool {
 public:
  explicit Pool(int threads) { start(threads); }
  ~Pool() { stop(); }

  int size() const { return threads_; }

  void resize(int threads) {
    std::lock_guard<std::mutex> run(run_mutex_);
    stop();
    start(threads);
  }

  // Returns false when the pool is busy; the caller then runs the work itself.
  //
  // Workers join a batch only while it is open, and the caller waits only for the workers
  // that joined: on a loaded machine a worker that has not been scheduled yet by the time the
  // caller has taken every chunk is left asleep instead of stalling the call for a time slice.
  bool run(int64_t n, int64_t chunks, const std::function<void(int64_t, int64_t)>& fn) {
    std::unique_lock<std::mutex> run(run_mutex_, std::try_to_lock);
    if (!run.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lk(mutex_);
      fn_ = &fn;
      n_ = n;
      chunks_ = chunks;
      next_.store(0);
      open_ = true;
      ++generation_;
      posted_.store(generation_, std::memory_order_release);
    }
    cv_.notify_all();
    work();  // the caller takes chunks too; returns once every chunk is taken
    spin_until([&] { return active_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lk(mutex_);
    open_ = false;  // late workers no longer join
    done_cv_.wait(lk, [&] { return active_ == 0; });
    fn_ = nullptr;
    return true;
  }

 private:
  void start(int threads) {
    threads_ = std::max(1, threads);
    quit_ = false;
    // New workers must start from the current generation: a stale 0 would make them run (and
    // count themselves done for) a batch that was never handed to them.
    const uint64_t gen = generation_;
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, gen] { loop(gen); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      quit_ = true;
      ++generation_;
      posted_.store(generation_, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  void work() {
    const bool was_inside = t_inside_task;
    t_inside_task = true;
    for (;;) {
      const int64_t c = next_.fetch_add(1);
      if (c >= chunks_) break;
      const int64_t b = n_ * c / chunks_, e = n_ * (c + 1) / chunks_;
      if (b < e) (*fn_)(b, e);
    }
    t_inside_task = was_inside;
  }

  void loop(uint64_t seen) {
    for (;;) {
      spin_until([&] { return posted_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lk(mutex_);
        cv_.wait(lk, [&] { return generation_ != seen; });
        seen = generation_;
        if (quit_) return;
        if (!open_) continue;  // woke after the caller finished the batch alone
        ++active_;
      }
      work();
      std::lock_guard<std::mutex> lk(mutex_);
      if (--active_ == 0 && !open_) done_cv_.notify_one();
    }
  }

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_, mutex_;
  std::condition_variable cv_, done_cv_;
  uint64_t generation_ = 0;
  bool quit_ = false;
  bool open_ = false;  // a batch is posted and workers may join it
  std::atomic<int> active_{0};  // workers inside the open (or just closed) batch (changed under mutex_)
  std::atomic<uint64_t> posted_{0};  // generation_, readable without the lock (for polling)
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunks_ = 0;
  std::atomic<int64_t> next_{0};
};

Pool& pool() {
  // Leaked on purpose: joining threads from a static destructor at process exit can hang.
  static Pool* p = new Pool(default_threads());
  return *p;
}

}  // namespace

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  Pool& p = pool();
  const int64_t max_chunks = static_cast<int64_t>(p.size()) * 4;  // a little over-decomposition for balance
  const int64_t chunks = std::min<int64_t>(max_chunks, n / grain);
  if (chunks <= 1 || p.size() == 1 || t_inside_task || !p.run(n, chunks, fn)) fn(0, n);
}

int num_threads() { return pool().size(); }

void set_num_threads(int n) { pool().resize(n <= 0 ? default_threads() : std::min(n, 256)); }

}  // namespace acr
