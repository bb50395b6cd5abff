/*
 * dropout.c: inverted dropout, elementwise over n floats.
 *
 * Shapes: x, y, dx, dy [n] (y may equal x), mask [n] of 0/1.
 *
 * Forward: mask_i = 1 with probability 1 - p (one rq_rng_uniform draw per
 * element: keep iff u >= p), y_i = x_i mask_i / (1 - p), so E[y] = x.
 * p <= 0 copies, sets the mask to 1 and draws nothing; p >= 1 drops all.
 * Backward: dx_i += dy_i mask_i / (1 - p).  dx NULL is skipped.
 */
#include <string.h>

#include "rq.h"

void
rq_dropout_forward(float *y, uint8_t *mask, const float *x, size_t n,
    float p, rq_rng *rng)
{
	float s;

	if (p <= 0) {
		if (y != x)
			memmove(y, x, n * sizeof(*y));
		if (mask != NULL)
			memset(mask, 1, n);
		return;
	}
	if (p >= 1) {
		memset(y, 0, n * sizeof(*y));
		if (mask != NULL)
			memset(mask, 0, n);
		return;
	}
	s = 1.0f / (1.0f - p);
	for (size_t i = 0; i < n; i++) {
		uint8_t keep = rq_rng_uniform(rng) >= p;
		if (mask != NULL)
			mask[i] = keep;
		y[i] = keep ? x[i] * s : 0.0f;
	}
}

void
rq_dropout_backward(float *dx, const float *dy, const uint8_t *mask, size_t n,
    float p)
{
	float s;

	if (dx == NULL)
		return;
	if (p <= 0) {
		for (size_t i = 0; i < n; i++)
			dx[i] += dy[i];
		return;
	}
	if (p >= 1)
		return;
	s = 1.0f / (1.0f - p);
	for (size_t i = 0; i < n; i++)
		if (mask[i])
			dx[i] += dy[i] * s;
}
