// Integer dot products for AVX2 (compiled with -mavx2 -mfma -mf16c -ffp-contract=off).
#define QDOT_VNNI 0
#define QDOT_TABLE qdot_table_avx2
#define QGEMM_TABLE qgemm_table_avx2
#include "qdot_simd.inc"
#include "qgemm_simd.inc"
