#include "common/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define ACR_X86 1
#endif

namespace acr {
namespace {

#if ACR_X86
unsigned long long xgetbv0() {
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

Isa detect() {
#if ACR_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::Scalar;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), avx = c & (1u << 28);
  if (!osxsave || !avx) return Isa::Scalar;
  const unsigned long long xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return Isa::Scalar;  // OS saves XMM and YMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::Scalar;
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
             avx512vl = b & (1u << 31);
  const bool zmm_os = (xcr0 & 0xE6) == 0xE6;  // opmask + ZMM state saved by the OS
  if (avx2 && fma && avx512f && avx512dq && avx512bw && avx512vl && zmm_os) return Isa::Avx512;
  if (avx2 && fma) return Isa::Avx2;
#endif
  return Isa::Scalar;
}

Isa cap_from_env(Isa isa) {
  const char* env = std::getenv("ACR_ISA");
  if (!env) return isa;
  Isa cap = isa;
  if (!std::strcmp(env, "scalar")) cap = Isa::Scalar;
  else if (!std::strcmp(env, "avx2")) cap = Isa::Avx2;
  else if (!std::strcmp(env, "avx512")) cap = Isa::Avx512;
  return static_cast<int>(cap) < static_cast<int>(isa) ? cap : isa;
}

const Isa g_detected = detect();
std::atomic<int> g_active{static_cast<int>(cap_from_env(g_detected))};

}  // namespace

Isa detected_isa() { return g_detected; }
Isa best_isa() { return static_cast<Isa>(g_active.load(std::memory_order_relaxed)); }

Isa set_isa(Isa requested) {
  const Isa isa = static_cast<int>(requested) <= static_cast<int>(g_detected) ? requested : g_detected;
  g_active.store(static_cast<int>(isa));
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "scalar";
  }
}

}  // namespace acr
