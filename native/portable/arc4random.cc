// Linked into the portable build only (ACR_PORTABLE=ON, the prebuilt in the npm package).
// The static libstdc++ carries std::random_device, which calls arc4random, new in glibc 2.36;
// defining it here keeps the prebuilt loadable on glibc 2.34 and 2.35. The addon never uses
// random_device; this is the same contract (uniform 32 bits from the kernel's generator).
#include <sys/random.h>
#include <cstdint>
#include <cstdlib>

extern "C" uint32_t arc4random(void) {
  uint32_t v;
  if (getentropy(&v, sizeof v) != 0) std::abort();
  return v;
}
