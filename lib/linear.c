/*
 * linear.c: fully connected layer, row-major float32.
 *
 * Shapes: x [n,in], w [out,in] (PyTorch layout), b [out] or NULL,
 * y [n,out]; gradients dy [n,out], dx [n,in], dw [out,in], db [out].
 *
 * Forward:  y = x w^T + b, i.e. y[i,o] = sum_j x[i,j] w[o,j] + b[o].
 * Backward: dL/dx[i,j] = sum_o dy[i,o] w[o,j]      -> dx += dy w
 *           dL/dw[o,j] = sum_i dy[i,o] x[i,j]      -> dw += dy^T x
 *           dL/db[o]   = sum_i dy[i,o]
 * Every gradient accumulates (+=), except dx in rq_linear_backward_set
 * (dx = dy w, written without reading); a NULL gradient pointer is
 * skipped.  The products go through rq_gemm (gemm.c).
 *
 * Fused forms (one pass over the output fewer each; the elementwise work
 * runs on each strip of the product's rows as it is finished, gemm.c's
 * rq_gemm_ep):
 *   rq_linear_forward_add:  y = x w^T + b + r          (r [n,out], a residual)
 *   rq_linear_forward_gelu: h = x w^T + b, g = GELU(h)  (h, g [n,out])
 *   rq_linear_backward_gelu: as rq_linear_backward_set, with x = GELU(xp)
 *     the output of a GELU whose input was xp [n,in]: dx = (dy w) GELU'(xp),
 *     the gradient at the GELU's input (gelu.c's rq_gelu_backward_y).
 */
#if defined(__AVX2__)
#include <immintrin.h>
#endif
#include "rq.h"

/* d[0..n) += s[0..n) */
static inline void
vadd(float *d, const float *s, int n)
{
	int j = 0;

#if defined(__AVX2__)
	for (; j + 8 <= n; j += 8)
		_mm256_storeu_ps(d + j, _mm256_add_ps(_mm256_loadu_ps(d + j),
		    _mm256_loadu_ps(s + j)));
#endif
	for (; j < n; j++)
		d[j] += s[j];
}

void
rq_linear_forward(float *y, const float *x, const float *w, const float *b,
    int n, int in, int out)
{
	if (n <= 0 || out <= 0)
		return;
	if (b != NULL)
		rq_gemm_bias(0, 1, n, out, in, x, in, w, in, b, y, out);
	else
		rq_gemm(0, 1, n, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
}

void
rq_linear_forward_add(float *y, const float *x, const float *w,
    const float *b, const float *r, int n, int in, int out)
{
	rq_epilogue ep = { RQ_EP_ADD, r, NULL, NULL, out };

	if (n <= 0 || out <= 0)
		return;
	rq_gemm_ep(0, 1, n, out, in, x, in, w, in, b, y, out, &ep);
}

void
rq_linear_forward_gelu(float *h, float *g, const float *x, const float *w,
    const float *b, int n, int in, int out)
{
	rq_epilogue ep = { RQ_EP_GELU, NULL, NULL, g, out };

	if (n <= 0 || out <= 0)
		return;
	rq_gemm_ep(0, 1, n, out, in, x, in, w, in, b, h, out, &ep);
}

/* xp NULL: dx = dy w (dxbeta 0) or dx += dy w (1); else dx = (dy w) GELU'(xp) */
static void
backward(float *dx, float dxbeta, const float *xp, float *dw, float *db,
    const float *dy, const float *x, const float *w, int n, int in, int out)
{
	if (n <= 0 || out <= 0)
		return;
	if (dx != NULL && in > 0 && xp != NULL) {
		rq_epilogue ep = { RQ_EP_DGELU, xp, x, NULL, in };

		rq_gemm_ep(0, 0, n, in, out, dy, out, w, in, NULL, dx, in,
		    &ep);
	} else if (dx != NULL && in > 0)
		rq_gemm(0, 0, n, in, out, 1.0f, dy, out, w, in, dxbeta, dx,
		    in);
	if (dw != NULL && in > 0)
		rq_gemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
	if (db != NULL)
		for (int i = 0; i < n; i++)
			vadd(db, dy + (size_t)i * out, out);
}

void
rq_linear_backward(float *dx, float *dw, float *db, const float *dy,
    const float *x, const float *w, int n, int in, int out)
{
	backward(dx, 1.0f, NULL, dw, db, dy, x, w, n, in, out);
}

/* as rq_linear_backward, but dx is overwritten: no zeroing pass first */
void
rq_linear_backward_set(float *dx, float *dw, float *db, const float *dy,
    const float *x, const float *w, int n, int in, int out)
{
	backward(dx, 0.0f, NULL, dw, db, dy, x, w, n, in, out);
}

void
rq_linear_backward_gelu(float *dx, float *dw, float *db, const float *dy,
    const float *x, const float *xp, const float *w, int n, int in, int out)
{
	backward(dx, 0.0f, xp, dw, db, dy, x, w, n, in, out);
}
