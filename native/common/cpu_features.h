// Run-time instruction-set detection. Kernels are compiled per ISA (files *_avx2.cc,
// *_avx512.cc) and chosen here once, so one binary runs on any x86-64 CPU.
#pragma once

namespace acr {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// The best ISA this CPU and OS support, capped by ACR_ISA (scalar|avx2|avx512) if set.
Isa best_isa();
// Overrides the detected ISA (tests use it to run every variant). Never raises the level
// above what the CPU supports; returns the level actually in force.
Isa set_isa(Isa requested);
Isa detected_isa();
const char* isa_name(Isa isa);

}  // namespace acr
