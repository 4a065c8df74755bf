// Force-included (-include) in the portable build only (ACR_PORTABLE=ON, the prebuilt in the npm
// package): binds hypot to its oldest glibc version. glibc 2.35 added a new hypot@GLIBC_2.35 (it
// dropped the SVID error handling, which -fno-math-errno code never sees); without this the
// prebuilt would refuse to load on glibc 2.34 (RHEL 9) for that one symbol.
#pragma once
#if defined(__x86_64__) && defined(__linux__)
__asm__(".symver hypot,hypot@GLIBC_2.2.5");
#endif
