// Integer dot products for AVX2 with AVX-VNNI (compiled with -mavx2 -mfma -mf16c -mavxvnni
// -ffp-contract=off; only called after a run-time check): the AVX2 code, one vpdpbusd where AVX2
// needs maddubs, madd and add.
#define QDOT_VNNI 0
#define QDOT_AVXVNNI 1
#define QDOT_TABLE qdot_table_avxvnni
#define QGEMM_TABLE qgemm_table_avxvnni
#include "qdot_simd.inc"
#include "qgemm_simd.inc"
