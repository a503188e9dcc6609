// Integer dot products with AVX-512 VNNI (compiled with -mavx2 -mfma -mf16c -mavx512f -mavx512vl
// -mavx512vnni -ffp-contract=off; only called after a run-time check).
#define QDOT_VNNI 1
#define QDOT_TABLE qdot_table_vnni
#define QGEMM_TABLE qgemm_table_vnni
#include "qdot_simd.inc"
#include "qgemm_simd.inc"
