/*
 * gelu.c: exact GELU, elementwise over n floats.
 *
 * Shapes: x, y, dx, dy [n] (any layout; y may equal x).
 *
 * Forward:  y = x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
 * Backward: dy/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi),
 *           so dx += dy (0.5 (1 + erf(x / sqrt 2)) + x phi(x)).
 * The gradient accumulates (+=); dx NULL is skipped.
 */
#include <math.h>

#include "rq.h"

#define SQRT1_2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

void
rq_gelu_forward(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		y[i] = 0.5f * v * (1.0f + erff(v * SQRT1_2));
	}
}

void
rq_gelu_backward(float *dx, const float *dy, const float *x, size_t n)
{
	if (dx == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		float cdf = 0.5f * (1.0f + erff(v * SQRT1_2));
		float pdf = INV_SQRT_2PI * expf(-0.5f * v * v);
		dx[i] += dy[i] * (cdf + v * pdf);
	}
}
