// Integer dot products with AVX-512 VNNI (compiled with -mavx2 -mfma -mf16c -mavx512f -mavx512bw
// -mavx512vl -mavx512vnni -ffp-contract=off; only called after a run-time check).
// GCC 12's 512-bit intrinsics pass an "undefined" vector that -Wuninitialized reports inside the header.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define QDOT_VNNI 1
#define QDOT_TABLE qdot_table_vnni
#define QGEMM_TABLE qgemm_table_vnni
#include "qdot_simd.inc"
#include "qgemm_simd.inc"
