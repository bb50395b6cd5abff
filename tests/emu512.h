/*
 * emu512.h: the AVX-512F intrinsics lib/gemm.c's kern_avx512 uses, as
 * portable C, for the test-only build of lib/gemm.c (-DRQ_GEMM_EMU512,
 * tests/unit-emu512) that runs the AVX-512 path on a CPU without it.
 *
 * Same semantics as the instructions, lane by lane (16 floats):
 * fmadd is a * b + c rounded once (fmaf), as vfmadd; load_ps and
 * store_ps abort on an address not 64 bytes aligned, where the real
 * instruction faults; loadu_ps and storeu_ps take any address.  So the
 * emulated kernel gives the real one's results bit for bit.
 *
 * Included after <immintrin.h>: the macros below replace the names for
 * the rest of the file.  An intrinsic not emulated here, called on the
 * emulated type, does not compile, so none can slip through unnoticed.
 */
#ifndef RQ_EMU512_H
#define RQ_EMU512_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	float f[16];
} rq_emu512;

static inline void
emu512_aligned(const void *p, const char *what)
{
	if ((uintptr_t)p % 64 != 0) {
		fprintf(stderr, "emu512: %s: address %p not 64-byte aligned "
		    "(the instruction would fault)\n", what, p);
		abort();
	}
}

static inline rq_emu512
emu512_set1_ps(float a)
{
	rq_emu512 v;

	for (int i = 0; i < 16; i++)
		v.f[i] = a;
	return v;
}

static inline rq_emu512
emu512_setzero_ps(void)
{
	return emu512_set1_ps(0.0f);
}

static inline rq_emu512
emu512_loadu_ps(const void *p)
{
	rq_emu512 v;

	memcpy(v.f, p, sizeof v.f);
	return v;
}

static inline rq_emu512
emu512_load_ps(const void *p)
{
	emu512_aligned(p, "_mm512_load_ps");
	return emu512_loadu_ps(p);
}

static inline void
emu512_storeu_ps(void *p, rq_emu512 v)
{
	memcpy(p, v.f, sizeof v.f);
}

static inline void
emu512_store_ps(void *p, rq_emu512 v)
{
	emu512_aligned(p, "_mm512_store_ps");
	emu512_storeu_ps(p, v);
}

static inline rq_emu512
emu512_fmadd_ps(rq_emu512 a, rq_emu512 b, rq_emu512 c)
{
	rq_emu512 v;

	for (int i = 0; i < 16; i++)
		v.f[i] = fmaf(a.f[i], b.f[i], c.f[i]);
	return v;
}

#define __m512 rq_emu512
#define _mm512_set1_ps emu512_set1_ps
#define _mm512_setzero_ps emu512_setzero_ps
#define _mm512_load_ps emu512_load_ps
#define _mm512_loadu_ps emu512_loadu_ps
#define _mm512_store_ps emu512_store_ps
#define _mm512_storeu_ps emu512_storeu_ps
#define _mm512_fmadd_ps emu512_fmadd_ps

#endif
