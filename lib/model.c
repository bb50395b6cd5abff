/*
 * model.c: the whole model of DESIGN.md section 2 -- two ViT encoders,
 * the heads of every method, the single-head fusion layer of Vanilla MT
 * and the two of MT*, with their RollingQ rotations -- forward and
 * backward over one batch.
 *
 * Shapes (B batch, d width, L depth, Hh heads, h = mlp d hidden, K classes):
 *   audio  a [B,F,T]    -> P_a = (F/pf)(T/pt) patches of pf*pt values,
 *                          patch (i,j) covers rows i*pf.., columns j*pt..
 *   visual v [B,C,H,W]  -> C/vc frames of vc channels; per frame
 *                          (H/ph)(W/pw) patches of vc*ph*pw values;
 *                          tokens frame-major (frame, row, column)
 *   encoder: x0 = [cls ; patches W^T + b] + pos      [B,N,d], N = 1 + P
 *            x <- x + proj(MHSA(LN1 x)); x <- x + fc2(GELU(fc1(LN2 x)))
 *            tok = LN(x)                              [B,N,d]
 *   MT fusion: seq = [cls_f ; tok_a ; tok_v]          [B,S,d], S = 1+Na+Nv
 *            k = seq Wk^T + bk, v = seq Wv^T + bv     [B,S,d]
 *            q = R (Wq cls_f + bq)                    [d]  (once per batch)
 *            a = softmax(q.k / sqrt d)                [B,S]
 *            o = sum_s drop(a) v;  y = drop(o Wo^T + bo);  logits = FC(y)
 *   MT* fusion (two layers, DESIGN.md section 3, last paragraph):
 *     layer 1, full single-head self-attention over seq = [cls_f ; tok_a ;
 *            tok_v] [B,S,d]: Q = seq Wq^T + bq, K, V likewise [B,S,d];
 *            row 0 of Q (cls_f's query, the same for every sample) is
 *            replaced by R1 (Wq cls_f + bq); A = softmax_row(Q K^T / sqrt d)
 *            [B,S,S]; O = drop(A) V; Y1 = drop(O Wo^T + bo)   [B,S,d]
 *     layer 2, the MT form over seq2 = [cls_f2 ; Y1]  [B,S+1,d] with its
 *            own cls_f2 and R2: q2 = R2 (Wq2 cls_f2 + bq2) [d] ... y2 [B,d];
 *            logits = FC(y2).  Layer 2's audio tokens are Y1's rows
 *            1..Na (seq2 rows 2..1+Na), its visual tokens the rest; neither
 *            holds Y1 row 0 (layer 1's cls_f output) nor cls_f2.
 *   JMT fusion ("joint", two layers; rq-train(1) METHODS):
 *     layer 1 = the MT fusion above (with its R): y1d [B,d]
 *     layer 2, one query PER SAMPLE over seq2 = [y1d ; cls_a ; cls_v]
 *            [B,3,d]: q2 = Wq2 y1d + bq2 [B,d]; k2, v2 = seq2 W^T + b
 *            [B,3,d]; a2 = softmax(q2.k2 / sqrt d) [B,3]; o2 = sum drop(a2)
 *            v2; y2 = drop(o2 Wo2^T + bo2); logits = FC(y2)   (jmt.c)
 *   MBT (mbt_forward): after the L encoder blocks, fdepth bottleneck
 *            layers of one block per stream (1 head, own weights) over
 *            [Tb ; x] [B,nb+N,d], Tb [B,nb,d] starting from mbt.bot [nb,d];
 *            x <- rows nb.. of the output; Tb <- the mean over the two
 *            streams of rows ..nb; then the final LN and the Concat head.
 *   MMML (cme_forward): fdepth CME layers over the streams X_a [B,Na,d],
 *            X_v [B,Nv,d] (the encoders' tok), per stream s, other o, both
 *            from the layer's inputs; LN eps 1e-12, heads as the encoders:
 *            H1 = LN(X_s + drop(MHA(Q = X_s, K = V = X_o) Wo^T + bo))
 *            H2 = LN(H1 + drop(MHA(H1, H1, H1) Wo'^T + bo'))
 *            out_s = LN(H2 + drop(fc2(ReLU(fc1 H2))))
 *            (mmml-rq: row 0 of the self-attention's Q, per sample, is
 *            R_s q); logits = fc3(ReLU(fc2(ReLU(fc1([out_a[0] ; out_v[0]])))))
 *            with widths 2d -> d -> d/2 -> K.
 *   MuT (mut_forward; mut.c, rq-train(1) METHODS): per target e (the
 *            other stream o), fdepth crossmodal layers over x = tok_e
 *            [B,N_e,d] with source tok_o, then LN (eps 1e-5); then
 *            mdepth pre-LN blocks and a final LN: mem_e [B,N_e,d];
 *            MT's query layer (fu[0], with R) over [cls_f ; mem_a ;
 *            mem_v]: y [B,d]; h = [mem_a[N_a-1] ; mem_v[N_v-1] ; y]
 *            [B,3d]; logits = out(h + fc2(ReLU(fc1 h))).
 *   probes on the detached CLS rows; Concat FC([cls_a ; cls_v]);
 *   Sum FC_a(cls_a) + FC_v(cls_v); unimodal FC(cls).
 * Memory: parameters, gradients, optimizer state and every activation of
 * a batch of cfg.batch samples live in ONE allocation laid out at plan
 * time; a step allocates nothing.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "rq.h"

#define DEPTH_MAX 32
#define LN_EPS 1e-6f

typedef struct blkp {
	size_t ln1g, ln1b, qkvw, qkvb, projw, projb, ln2g, ln2b;
	size_t fc1w, fc1b, fc2w, fc2b;
} blkp;

typedef struct blka {
	float *ln1, *mu1, *rs1, *qkv, *att, *ao, *xmid;
	float *ln2, *mu2, *rs2, *h1, *h2;
} blka;

typedef struct encoder {
	int on, N, P, pdim;
	size_t pw, pb, cls, pos, lng, lnb;
	blkp bp[DEPTH_MAX];
	float *patches, *pe, *x[DEPTH_MAX + 1], *tok, *mu, *rs, *clsout;
	float *dtok, *fin;          /* fin: the final LN's input [B,N,d] */
	blka ba[DEPTH_MAX];
} encoder;

/* MMML: an attention sub-layer with its LN, and the FFN with its LN */
typedef struct cmep {
	size_t qw, qb, kw, kb, vw, vb, ow, ob, lg, lb;
} cmep;

typedef struct cmef {
	size_t w1, b1, w2, b2, lg, lb;
} cmef;

/* q, ctx, o, od, r, y [B,Nx,d]; k, v [B,Ny,d]; att [B,H,Nx,Ny]; mu, rs
 * [B Nx]; FFN: f1, rl [B,N,hd], f2 (in o), f2d (in od) */
typedef struct cmea {
	float *q, *k, *v, *att, *ctx, *o, *od, *r, *y, *mu, *rs, *f1, *rl;
	uint8_t *mk;
} cmea;

typedef struct cmes {
	cmep cp, sp;                /* cross, self */
	cmef fp;
	cmea ca, sa, fa;
	float *qpre;                /* self Q row 0 before R [B,d] */
} cmes;

/* one MBT bottleneck layer: a block per stream over [Tb ; x] */
typedef struct mbtl {
	blkp bp[2];
	blka ba[2];
	float *zin[2], *zout[2];    /* [B,nb+N,d] */
} mbtl;

/* MuT: one direction, target e, source the other stream */
typedef struct mutd {
	size_t xp[DEPTH_MAX];       /* crossmodal layer l's parameters */
	size_t lng, lnb;            /* the direction's final LN */
	blkp bp[DEPTH_MAX];         /* the memory's blocks */
	size_t mlng, mlnb;          /* the memory's final LN */
	rq_xmod xa[DEPTH_MAX];
	float *x[DEPTH_MAX + 1];    /* x[0] the target's tok; x[l+1] layer l's */
	float *cf, *cmu, *crs;      /* LN(x[fdepth]) [B,N,d]; [B N] */
	float *mx[DEPTH_MAX + 1];   /* memory block inputs, mx[0] = cf */
	blka ba[DEPTH_MAX];
	float *mem, *mmu, *mrs;     /* the memory's tokens LN(mx[mdepth]) */
	float *dmem;                /* dL/dmem [B,N,d] */
} mutd;

/*
 * One fusion layer.  Query form (MT, MT* layer 2): q, qpre [d]; a, ad
 * [B,S]; o, y, yd [B,d].  Full form (MT* layer 1): q [B,S,d] (row 0 of
 * every sample = R qpre), qpre [d]; a, ad [B,S,S]; o, y, yd [B,S,d].
 * seq, k, v [B,S,d] in both; tokens aoff.. are audio, then visual.
 */
typedef struct fusion {
	int full, S, aoff;
	size_t cls, qw, qb, kw, kb, vw, vb, ow, ob;
	double *R;
	long rot;
	float *seq, *k, *v, *a, *ad, *o, *y, *yd, *q, *qpre;
	uint8_t *am, *ym;
	float *dseq, *dk, *dv, *dob, *dy, *dyd, *dq, *dqpre, *dsc;
} fusion;

/* JMT's second layer (per-sample query over 3 tokens): q, o, y, yd,
 * dq, dob, dy, dyd, dy1 [B,d]; seq, k, v, dseq, dk, dv [B,3,d]; a, ad [B,3] */
typedef struct jmtl {
	int on;
	size_t qw, qb, kw, kb, vw, vb, ow, ob;
	float *seq, *q, *k, *v, *a, *ad, *o, *y, *yd;
	uint8_t *am, *ym;
	float *dseq, *dq, *dk, *dv, *dob, *dy, *dyd, *dy1;
} jmtl;

struct rq_model {
	rq_model_cfg cfg;
	rq_param *tab;
	int ntab, tabcap;
	size_t nparams;             /* floats in the parameter vector */
	encoder enc[2];
	fusion fu[2];
	int nfu;                    /* fusion layers: 1 MT, 2 MT*, else 0 */
	jmtl jm;                    /* JMT's second layer */
	float *xg;                  /* [2,B,d] extra CLS feature gradients */
	int has_xg;
	int nmbt, nbt;              /* MBT bottleneck layers and tokens */
	size_t bot;                 /* mbt.bot [nbt,d] */
	mbtl mb[DEPTH_MAX];
	float *tb[DEPTH_MAX + 1];   /* Tb entering layer l [B,nbt,d] */
	float *xf[2], *mbg[2], *dtb[2];
	int ncme;                   /* MMML CME layers */
	cmes cme[DEPTH_MAX][2];
	size_t hdw[3], hdb[3];      /* MMML head fc1..fc3 */
	double *cR[2];              /* mmml-rq: R per stream [d,d] */
	float *cq[2];               /* batch mean of the rotated query [d] */
	float *ckm;                 /* cme_kmeans scratch [2d] */
	long crot[2];
	float *hf, *hz[2], *hr[2], *dhf, *dhz[2], *dhr[2];
	float *cgo[2], *cgi[2], *cgA, *cgB;     /* [B,N_s,d]; [B,Nmax,d] */
	float *cdr, *cdo, *cdc, *cdq, *cdk, *cdv, *cdh1, *cdh2, *cscr;
	size_t hw, hb, haw, hab, hvw, hvb, paw, pab, pvw, pvb;
	int has_head, has_sum, has_probe;
	float *arena;
	size_t arena_floats;
	float *params, *grads, *state[2];
	float *logits[3], *probs[3], *feat, *dlog, *dfeat;
	/* backward scratch shared by the encoders */
	float *dres, *dln, *dqkv, *dao, *dh1, *dh2, *scr, *dpe;
	double loss[3];
	float p_used;
	int B_used;
	int nmut, nmem;             /* MuT: crossmodal layers, memory blocks */
	mutd mt[2];                 /* MuT: direction e has target e */
	size_t mrw[3], mrb[3];      /* MuT read-out: fc1, fc2, out */
	float *mh, *mz, *mr, *mh2, *dmh, *dmz, *dmr, *dmh2;  /* [B,3d] */
	float *mscr, *mg[2];        /* xmod scratch; [B,Nmax,d] each */
};

static const char *method_names[RQ_METHOD_COUNT] = {
	"audio", "visual", "concat", "sum", "mt", "mtstar",
	"jmt", "mbt", "mmml", "mut"
};

const char *
rq_method_name(int method)
{
	if (method < 0 || method >= RQ_METHOD_COUNT)
		return "?";
	return method_names[method];
}

int
rq_method_parse(const char *s)
{
	for (int i = 0; i < RQ_METHOD_COUNT; i++)
		if (strcmp(s, method_names[i]) == 0)
			return i;
	return -1;
}

void
rq_model_cfg_defaults(rq_model_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->method = RQ_METHOD_MT;
	c->d = 64;
	c->depth = 2;
	c->heads = 4;
	c->mlp = 4;
	c->pf = c->pt = 4;
	c->vc = 1;
	c->ph = c->pw = 4;
	c->classes = 2;
	c->batch = 64;
	c->drop = 0.2f;
	c->opt_slots = 1;
	c->fdepth = 1;
	c->ftok = 4;
	c->mdepth = 3;
	snprintf(c->mod[0], sizeof c->mod[0], "audio");
	snprintf(c->mod[1], sizeof c->mod[1], "visual");
	c->layout[0] = RQ_LAYOUT_SPEC;
	c->layout[1] = RQ_LAYOUT_FRAMES;
}

/* one table entry; returns its offset in the parameter vector */
static size_t
addp(rq_model *m, const char *name, int ndim, uint64_t d0, uint64_t d1,
    int init, int group)
{
	rq_param *p;
	size_t off = m->nparams;

	if (m->ntab == m->tabcap) {
		int nc = m->tabcap ? 2 * m->tabcap : 64;
		rq_param *t = realloc(m->tab, (size_t)nc * sizeof *t);
		if (t == NULL)
			return (size_t)-1;
		m->tab = t;
		m->tabcap = nc;
	}
	p = &m->tab[m->ntab++];
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	p->ndim = ndim;
	p->dims[0] = d0;
	p->dims[1] = ndim > 1 ? d1 : 0;
	p->n = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1);
	p->off = off;
	p->init = init;
	p->group = group;
	p->kind = RQ_KIND_RAW;
	p->rows = p->rows_ref = -1;
	m->nparams += p->n;
	return off;
}

static void
lin(rq_model *m, const char *pre, size_t *w, size_t *b, int out, int in,
    int group)
{
	char nm[64];

	snprintf(nm, sizeof nm, "%s.w", pre);
	*w = addp(m, nm, 2, (uint64_t)out, (uint64_t)in, RQ_INIT_XAVIER, group);
	snprintf(nm, sizeof nm, "%s.b", pre);
	*b = addp(m, nm, 1, (uint64_t)out, 0, RQ_INIT_ZERO, group);
	if (m->ntab >= 2) {
		m->tab[m->ntab - 2].kind = RQ_KIND_LINW;
		m->tab[m->ntab - 1].kind = RQ_KIND_LINB;
	}
}

/*
 * Counting (count.c): the entries from t0 on that are not annotated yet
 * are applied to r token rows per sample in rq and to rref rows in the
 * reference (PyTorch) module; raw tensors (tokens, embeddings) to none.
 */
static void
setrows(rq_model *m, int t0, double r, double rref)
{
	for (int i = t0; i < m->ntab; i++) {
		rq_param *p = &m->tab[i];
		if (p->rows >= 0)
			continue;
		p->rows = p->kind == RQ_KIND_RAW ? 0 : r;
		p->rows_ref = p->kind == RQ_KIND_RAW ? 0 : rref;
	}
}

static void
lnorm(rq_model *m, const char *pre, size_t *g, size_t *b)
{
	char nm[64];

	snprintf(nm, sizeof nm, "%s.g", pre);
	*g = addp(m, nm, 1, (uint64_t)m->cfg.d, 0, RQ_INIT_ONE, 0);
	snprintf(nm, sizeof nm, "%s.b", pre);
	*b = addp(m, nm, 1, (uint64_t)m->cfg.d, 0, RQ_INIT_ZERO, 0);
	if (m->ntab >= 2) {
		m->tab[m->ntab - 2].kind = RQ_KIND_LNG;
		m->tab[m->ntab - 1].kind = RQ_KIND_LNB;
	}
}

static void plan_block(rq_model *m, const char *pre, blkp *b);

static void
plan_encoder(rq_model *m, int e)
{
	const rq_model_cfg *c = &m->cfg;
	encoder *en = &m->enc[e];
	const char *pre = e == 0 ? "enc.a" : "enc.v";
	char nm[96];
	int d = c->d;

	en->on = 1;
	if (e == 0) {
		en->P = (c->F / c->pf) * (c->T / c->pt);
		en->pdim = c->pf * c->pt;
	} else {
		en->P = (c->C / c->vc) * (c->H / c->ph) * (c->W / c->pw);
		en->pdim = c->vc * c->ph * c->pw;
	}
	en->N = 1 + en->P;
	snprintf(nm, sizeof nm, "%s.patch", pre);
	lin(m, nm, &en->pw, &en->pb, d, en->pdim, 0);
	setrows(m, m->ntab - 2, en->P, en->P);
	snprintf(nm, sizeof nm, "%s.cls", pre);
	en->cls = addp(m, nm, 1, (uint64_t)d, 0, RQ_INIT_CLS, 0);
	snprintf(nm, sizeof nm, "%s.pos", pre);
	en->pos = addp(m, nm, 2, (uint64_t)en->N, (uint64_t)d, RQ_INIT_POS, 0);
	for (int l = 0; l < c->depth; l++) {
		snprintf(nm, sizeof nm, "%s.blk.%d", pre, l);
		plan_block(m, nm, &en->bp[l]);
	}
	snprintf(nm, sizeof nm, "%s.ln", pre);
	lnorm(m, nm, &en->lng, &en->lnb);
	setrows(m, 0, en->N, en->N);
}

/* a pre-LN ViT block's parameters under pre (pre.ln1.g, pre.attn.qkv.w, ...) */
static void
plan_block(rq_model *m, const char *pre, blkp *b)
{
	char nm[96];
	int d = m->cfg.d, hd = m->cfg.mlp * m->cfg.d;

	snprintf(nm, sizeof nm, "%s.ln1", pre);
	lnorm(m, nm, &b->ln1g, &b->ln1b);
	snprintf(nm, sizeof nm, "%s.attn.qkv", pre);
	lin(m, nm, &b->qkvw, &b->qkvb, 3 * d, d, 0);
	snprintf(nm, sizeof nm, "%s.attn.proj", pre);
	lin(m, nm, &b->projw, &b->projb, d, d, 0);
	snprintf(nm, sizeof nm, "%s.ln2", pre);
	lnorm(m, nm, &b->ln2g, &b->ln2b);
	snprintf(nm, sizeof nm, "%s.mlp.fc1", pre);
	lin(m, nm, &b->fc1w, &b->fc1b, hd, d, 0);
	snprintf(nm, sizeof nm, "%s.mlp.fc2", pre);
	lin(m, nm, &b->fc2w, &b->fc2b, d, hd, 0);
}

/* MBT: mbt.bot, then per layer l mbt.a.blk.<l>.*, mbt.v.blk.<l>.* */
static void
plan_mbt(rq_model *m)
{
	char nm[64];

	m->nmbt = m->cfg.fdepth;
	m->nbt = m->cfg.ftok;
	m->bot = addp(m, "mbt.bot", 2, (uint64_t)m->nbt, (uint64_t)m->cfg.d,
	    RQ_INIT_FCLS, 0);
	setrows(m, m->ntab - 1, 0, 0);
	for (int l = 0; l < m->nmbt; l++)
		for (int e = 0; e < 2; e++) {
			int t0 = m->ntab;
			snprintf(nm, sizeof nm, "mbt.%c.blk.%d", "av"[e], l);
			plan_block(m, nm, &m->mb[l].bp[e]);
			/* a block over [bottlenecks ; the stream's tokens] */
			setrows(m, t0, m->nbt + m->enc[e].N,
			    m->nbt + m->enc[e].N);
		}
}

/* an MMML attention sub-layer: pre.{q,k,v,o}.{w,b}, pre.ln.{g,b} */
static void
plan_cme_attn(rq_model *m, const char *pre, cmep *p)
{
	char nm[96];
	int d = m->cfg.d;

	snprintf(nm, sizeof nm, "%s.q", pre);
	lin(m, nm, &p->qw, &p->qb, d, d, 0);
	snprintf(nm, sizeof nm, "%s.k", pre);
	lin(m, nm, &p->kw, &p->kb, d, d, 0);
	snprintf(nm, sizeof nm, "%s.v", pre);
	lin(m, nm, &p->vw, &p->vb, d, d, 0);
	snprintf(nm, sizeof nm, "%s.o", pre);
	lin(m, nm, &p->ow, &p->ob, d, d, 0);
	snprintf(nm, sizeof nm, "%s.ln", pre);
	lnorm(m, nm, &p->lg, &p->lb);
}

/* MMML: cme.<l>.<a|v>.{cross,self}.*, cme.<l>.<a|v>.ffn.{fc1,fc2,ln};
 * head.fc1 [d,2d], head.fc2 [d/2,d], head.fc3 [K,d/2] */
static void
plan_cme(rq_model *m)
{
	char nm[96];
	int d = m->cfg.d, hd = m->cfg.mlp * m->cfg.d;

	m->ncme = m->cfg.fdepth;
	for (int l = 0; l < m->ncme; l++)
		for (int e = 0; e < 2; e++) {
			cmes *s = &m->cme[l][e];
			double Ns = m->enc[e].N, No = m->enc[1 - e].N;
			int t0 = m->ntab;
			snprintf(nm, sizeof nm, "cme.%d.%c.cross", l, "av"[e]);
			plan_cme_attn(m, nm, &s->cp);
			/* the cross-attention's q, o and LN act on the stream's
			 * own rows, its k and v on the other stream's */
			for (int i = t0; i < m->ntab; i++) {
				int kv = i >= t0 + 2 && i < t0 + 6;
				m->tab[i].rows = m->tab[i].rows_ref = kv ? No : Ns;
			}
			t0 = m->ntab;
			snprintf(nm, sizeof nm, "cme.%d.%c.self", l, "av"[e]);
			plan_cme_attn(m, nm, &s->sp);
			snprintf(nm, sizeof nm, "cme.%d.%c.ffn.fc1", l, "av"[e]);
			lin(m, nm, &s->fp.w1, &s->fp.b1, hd, d, 0);
			snprintf(nm, sizeof nm, "cme.%d.%c.ffn.fc2", l, "av"[e]);
			lin(m, nm, &s->fp.w2, &s->fp.b2, d, hd, 0);
			snprintf(nm, sizeof nm, "cme.%d.%c.ffn.ln", l, "av"[e]);
			lnorm(m, nm, &s->fp.lg, &s->fp.lb);
			setrows(m, t0, Ns, Ns);
		}
	lin(m, "head.fc1", &m->hdw[0], &m->hdb[0], d, 2 * d, 0);
	lin(m, "head.fc2", &m->hdw[1], &m->hdb[1], d / 2, d, 0);
	lin(m, "head.fc3", &m->hdw[2], &m->hdb[2], m->cfg.classes, d / 2, 0);
}

/* layer l's parameters: "fusion.*" for layer 0, "fusion.<l>.*" after */
static void
plan_fusion(rq_model *m, int l, int full, int S, int aoff)
{
	fusion *f = &m->fu[l];
	char pre[32], nm[64];
	int d = m->cfg.d;

	if (l == 0)
		snprintf(pre, sizeof pre, "fusion");
	else
		snprintf(pre, sizeof pre, "fusion.%d", l);
	f->full = full;
	f->S = S;
	f->aoff = aoff;
	snprintf(nm, sizeof nm, "%s.cls", pre);
	f->cls = addp(m, nm, 1, (uint64_t)d, 0, RQ_INIT_FCLS, 0);
	snprintf(nm, sizeof nm, "%s.q", pre);
	lin(m, nm, &f->qw, &f->qb, d, d, 0);
	/* query form: rq projects cls_f alone; the authors' module every row */
	setrows(m, 0, full ? S : 1, S);
	snprintf(nm, sizeof nm, "%s.k", pre);
	lin(m, nm, &f->kw, &f->kb, d, d, 0);
	snprintf(nm, sizeof nm, "%s.v", pre);
	lin(m, nm, &f->vw, &f->vb, d, d, 0);
	setrows(m, 0, S, S);
	snprintf(nm, sizeof nm, "%s.o", pre);
	lin(m, nm, &f->ow, &f->ob, d, d, 0);
	setrows(m, 0, full ? S : 1, S);
	m->nfu = l + 1;
}

/* JMT's second layer: four d x d maps, the "jmt." tensors, 3 rows */
static void
plan_jmt(rq_model *m)
{
	jmtl *j = &m->jm;
	int d = m->cfg.d;

	j->on = 1;
	lin(m, "jmt.q", &j->qw, &j->qb, d, d, 0);
	setrows(m, 0, 1, 3);
	lin(m, "jmt.k", &j->kw, &j->kb, d, d, 0);
	lin(m, "jmt.v", &j->vw, &j->vb, d, d, 0);
	setrows(m, 0, 3, 3);
	lin(m, "jmt.o", &j->ow, &j->ob, d, d, 0);
	setrows(m, 0, 1, 3);
}

/* MulT's crossmodal layer under pre, in the order of mut.c (RQ_XMOD_*) */
static void
plan_xmod(rq_model *m, const char *pre)
{
	static const char *part[] = { "ln", "q", "k", "v", "o", "ln2", "fc1",
	    "fc2" };
	char nm[96];
	size_t w, b;
	int d = m->cfg.d, hd = m->cfg.mlp * m->cfg.d;

	for (int i = 0; i < 8; i++) {
		snprintf(nm, sizeof nm, "%s.%s", pre, part[i]);
		if (i == 0 || i == 5)
			lnorm(m, nm, &w, &b);
		else
			lin(m, nm, &w, &b, i == 6 ? hd : d, i == 7 ? hd : d, 0);
	}
}

/*
 * MuT: per target e, mut.<a|v>.cross.<l>.* (crossmodal layers),
 * mut.<a|v>.cross.ln, mut.<a|v>.mem.<j>.* (blocks), mut.<a|v>.mem.ln;
 * MT's query layer (fusion.*); head.fc1, head.fc2 [3d,3d], head.out
 * [K,3d].  Counting: a crossmodal layer's LN runs over the target's and
 * the source's rows, its k and v over the source's, the rest over the
 * target's.
 */
static void
plan_mut(rq_model *m)
{
	char nm[48];
	int d = m->cfg.d, K = m->cfg.classes;

	m->nmut = m->cfg.fdepth;
	m->nmem = m->cfg.mdepth;
	for (int e = 0; e < 2; e++) {
		mutd *t = &m->mt[e];
		double N = m->enc[e].N, No = m->enc[!e].N;
		int t0 = m->ntab;
		for (int l = 0; l < m->nmut; l++) {
			int l0 = m->ntab;
			t->xp[l] = m->nparams;
			snprintf(nm, sizeof nm, "mut.%c.cross.%d", "av"[e], l);
			plan_xmod(m, nm);
			for (int i = l0; i < m->ntab; i++) {
				int r = i - l0;
				m->tab[i].rows = m->tab[i].rows_ref = r < 2 ? N + No :
				    r >= 4 && r < 8 ? No : N;
			}
		}
		snprintf(nm, sizeof nm, "mut.%c.cross.ln", "av"[e]);
		lnorm(m, nm, &t->lng, &t->lnb);
		for (int j = 0; j < m->nmem; j++) {
			snprintf(nm, sizeof nm, "mut.%c.mem.%d", "av"[e], j);
			plan_block(m, nm, &t->bp[j]);
		}
		snprintf(nm, sizeof nm, "mut.%c.mem.ln", "av"[e]);
		lnorm(m, nm, &t->mlng, &t->mlnb);
		setrows(m, t0, N, N);
	}
	plan_fusion(m, 0, 0, 1 + m->enc[0].N + m->enc[1].N, 1);
	lin(m, "head.fc1", &m->mrw[0], &m->mrb[0], 3 * d, 3 * d, 0);
	lin(m, "head.fc2", &m->mrw[1], &m->mrb[1], 3 * d, 3 * d, 0);
	lin(m, "head.out", &m->mrw[2], &m->mrb[2], K, 3 * d, 0);
}

/* *acc *= x, false when the product passes INT_MAX (sizes below are
 * used as int by the layers) */
static int
mul_ok(size_t *acc, size_t x)
{
	if (x != 0 && *acc > (size_t)INT_MAX / x)
		return 0;
	*acc *= x;
	return 1;
}

/* a product of up to four sizes, within INT_MAX */
static int
prod_ok(size_t a, size_t b, size_t c, size_t d)
{
	size_t p = 1;

	return mul_ok(&p, a) && mul_ok(&p, b) && mul_ok(&p, c) &&
	    mul_ok(&p, d);
}

/*
 * Every element count a layer holds in an int (B N 3d, B N hd, B H N^2,
 * B P pdim, the fusion's B S^2 and B S d, B K), in size_t before any int
 * is formed: RQ_ERANGE if one passes INT_MAX.  Assumes the ranges
 * rq_model_plan checks first (every size >= 1).
 */
static int
sizes_ok(const rq_model_cfg *c)
{
	size_t B = (size_t)c->batch, d = (size_t)c->d, H = (size_t)c->heads;
	size_t K = (size_t)c->classes, N[2] = {0, 0}, hd = 1;
	size_t wide;

	if (!mul_ok(&hd, (size_t)c->mlp) || !mul_ok(&hd, d) ||
	    !prod_ok(3, d, 1, 1) || !prod_ok(2, d, 1, 1) ||
	    !prod_ok(B, K, 2, 1) || !prod_ok(K, d, 2, 1))
		return 0;
	wide = RQ_MAX(3 * d, hd);
	for (int e = 0; e < 2; e++) {
		size_t P = 1, pdim = 1;
		if ((e == 0 && c->method == RQ_METHOD_VISUAL) ||
		    (e == 1 && c->method == RQ_METHOD_AUDIO))
			continue;
		if (e == 0 ? !mul_ok(&P, (size_t)(c->F / c->pf)) ||
		    !mul_ok(&P, (size_t)(c->T / c->pt)) ||
		    !mul_ok(&pdim, (size_t)c->pf) ||
		    !mul_ok(&pdim, (size_t)c->pt) :
		    !mul_ok(&P, (size_t)(c->C / c->vc)) ||
		    !mul_ok(&P, (size_t)(c->H / c->ph)) ||
		    !mul_ok(&P, (size_t)(c->W / c->pw)) ||
		    !mul_ok(&pdim, (size_t)c->vc) ||
		    !mul_ok(&pdim, (size_t)c->ph) ||
		    !mul_ok(&pdim, (size_t)c->pw))
			return 0;
		N[e] = P + 1;
		if (!prod_ok(B, N[e], wide, 1) || !prod_ok(B, H, N[e], N[e]) ||
		    !prod_ok(B, P, pdim, 1) || !prod_ok(B, P, d, 1) ||
		    !prod_ok(pdim, d, 1, 1))
			return 0;
	}
	if (c->method == RQ_METHOD_MT || c->method == RQ_METHOD_MTSTAR) {
		size_t S = 2 + N[0] + N[1];	/* MT*: one more token */
		if (!prod_ok(B, S, S, 1) || !prod_ok(B, S, d, 1) ||
		    !prod_ok(S, S, 1, 1))
			return 0;
	}
	/* MuT: the fusion over 1 + Na + Nv rows, cross-attention B H N_a
	 * N_v, the read-out [B,3d] and [3d,3d], the crossmodal scratch */
	if (c->method == RQ_METHOD_MUT) {
		size_t S = 1 + N[0] + N[1], scr = 0;
		if (!prod_ok(B, S, d, 1) || !prod_ok(B, H, N[0], N[1]) ||
		    !prod_ok(B, 3, d, 1) || !prod_ok(3, d, 3, d) ||
		    !prod_ok(K, 3, d, 1) || !prod_ok(N[0], N[1], 1, 1))
			return 0;
		for (int e = 0; e < 2; e++)
			if (!prod_ok(B, N[e], 6, d) || !prod_ok(B, N[e], 2, hd))
				return 0;
		scr = 6 * B * (N[0] + N[1]) * d + 2 * B * (N[0] + N[1]) * hd;
		if (scr > (size_t)INT_MAX)
			return 0;
	}
	return 1;
}

int
rq_model_plan(rq_model **mp, const rq_model_cfg *cfg)
{
	rq_model *m;
	const rq_model_cfg *c = cfg;
	int d = c->d, K = c->classes, meth = c->method;

	*mp = NULL;
	if (meth < 0 || meth >= RQ_METHOD_COUNT)
		return RQ_EINVAL;
	if (d < 1 || c->heads < 1 || d % c->heads != 0 || c->depth < 0 ||
	    c->depth > DEPTH_MAX || c->mlp < 1 || K < 2 || c->batch < 1 ||
	    c->opt_slots < 0 || c->opt_slots > 2 || !(c->drop >= 0) ||
	    !(c->drop < 1))
		return RQ_EINVAL;
	if (meth != RQ_METHOD_VISUAL && (c->pf < 1 || c->pt < 1 ||
	    c->F < c->pf || c->T < c->pt))
		return RQ_ERANGE;
	if (meth != RQ_METHOD_AUDIO && (c->vc < 1 || c->ph < 1 || c->pw < 1 ||
	    c->C < c->vc || c->C % c->vc != 0 || c->H < c->ph ||
	    c->W < c->pw))
		return RQ_ERANGE;
	/*
	 * A sequence [T,F] is the slot's patch encoder with one patch per
	 * step covering all F features: slot 0 sees it as [F',T'] = [T,F]
	 * cut 1 x F (im2col's patch (i,0) is row i, token i + 1 = W x_i +
	 * b + pos[i + 1]); slot 1 as [1,T,F] cut 1 x F, one frame.
	 */
	if (c->layout[0] == RQ_LAYOUT_SEQ && meth != RQ_METHOD_VISUAL &&
	    (c->pf != 1 || c->pt != c->T))
		return RQ_EINVAL;
	if (c->layout[1] == RQ_LAYOUT_SEQ && meth != RQ_METHOD_AUDIO &&
	    (c->C != 1 || c->vc != 1 || c->ph != 1 || c->pw != c->W))
		return RQ_EINVAL;
	if (meth == RQ_METHOD_MBT && (c->fdepth < 1 || c->fdepth > DEPTH_MAX ||
	    c->ftok < 1 || c->ftok > 4096))
		return RQ_EINVAL;
	if (meth == RQ_METHOD_MMML && (c->fdepth < 1 || c->fdepth > DEPTH_MAX ||
	    d < 2))
		return RQ_EINVAL;
	if (meth == RQ_METHOD_MUT && (c->fdepth < 1 || c->fdepth > DEPTH_MAX ||
	    c->mdepth < 0 || c->mdepth > DEPTH_MAX))
		return RQ_EINVAL;
	if (!sizes_ok(c))
		return RQ_ERANGE;
	if ((m = calloc(1, sizeof *m)) == NULL)
		return RQ_ENOMEM;
	m->cfg = *cfg;
	if (meth != RQ_METHOD_VISUAL)
		plan_encoder(m, 0);
	if (meth != RQ_METHOD_AUDIO)
		plan_encoder(m, 1);
	switch (meth) {
	case RQ_METHOD_AUDIO:
	case RQ_METHOD_VISUAL:
		m->has_head = 1;
		lin(m, "head", &m->hw, &m->hb, K, d, 0);
		break;
	case RQ_METHOD_MMML:
		plan_cme(m);
		break;
	case RQ_METHOD_MUT:
		plan_mut(m);
		break;
	case RQ_METHOD_MBT:
		plan_mbt(m);
		/* FALLTHROUGH */
	case RQ_METHOD_CONCAT:
		m->has_head = 1;
		lin(m, "head", &m->hw, &m->hb, K, 2 * d, 0);
		break;
	case RQ_METHOD_SUM:
		m->has_sum = 1;
		lin(m, "head.a", &m->haw, &m->hab, K, d, 0);
		lin(m, "head.v", &m->hvw, &m->hvb, K, d, 0);
		break;
	case RQ_METHOD_MT:
	case RQ_METHOD_MTSTAR: {
		int S = 1 + m->enc[0].N + m->enc[1].N;
		if (meth == RQ_METHOD_MT)
			plan_fusion(m, 0, 0, S, 1);
		else {
			plan_fusion(m, 0, 1, S, 1);
			plan_fusion(m, 1, 0, S + 1, 2);
		}
		m->has_head = 1;
		lin(m, "fusion.fc", &m->hw, &m->hb, K, d, 0);
		break;
	}
	case RQ_METHOD_JMT:
		plan_fusion(m, 0, 0, 1 + m->enc[0].N + m->enc[1].N, 1);
		plan_jmt(m);
		m->has_head = 1;
		lin(m, "fusion.fc", &m->hw, &m->hb, K, d, 0);
		break;
	}
	if (meth == RQ_METHOD_CONCAT || meth == RQ_METHOD_SUM ||
	    meth == RQ_METHOD_MT || meth == RQ_METHOD_MTSTAR ||
	    meth == RQ_METHOD_JMT || meth == RQ_METHOD_MBT ||
	    meth == RQ_METHOD_MMML || meth == RQ_METHOD_MUT) {
		m->has_probe = 1;
		lin(m, "probe.a", &m->paw, &m->pab, K, d, 1);
		lin(m, "probe.v", &m->pvw, &m->pvb, K, d, 1);
		/* the paper's MBT count (114.21 M) leaves its probes out */
		if (meth == RQ_METHOD_MBT)
			setrows(m, m->ntab - 4, 1, 0);
	}
	/* heads and probes: one row per sample; any other tensor must have
	 * been annotated by its planner (count.c refuses it otherwise) */
	for (int i = 0; i < m->ntab; i++) {
		rq_param *p = &m->tab[i];
		if (p->rows < 0 && (strncmp(p->name, "head", 4) == 0 ||
		    strncmp(p->name, "fusion.fc.", 10) == 0 ||
		    strncmp(p->name, "probe.", 6) == 0))
			p->rows = p->rows_ref = 1;
	}
	if (m->tab == NULL) {
		rq_model_free(m);
		return RQ_ENOMEM;
	}
	*mp = m;
	return RQ_OK;
}

/* carve n floats (rounded to 16 for alignment) */
static float *
take(rq_model *m, size_t *cur, size_t n)
{
	float *p = m->arena != NULL ? m->arena + *cur : NULL;

	*cur += (n + 15) & ~(size_t)15;
	return p;
}

static void
layout_fusion(rq_model *m, fusion *f, size_t *cur)
{
	size_t B = (size_t)m->cfg.batch, d = (size_t)m->cfg.d, S = (size_t)f->S;
	size_t ro = f->full ? S : 1, nq = f->full ? B * S * d : d;
	size_t na = f->full ? B * S * S : B * S;

	f->seq = take(m, cur, B * S * d);
	f->k = take(m, cur, B * S * d);
	f->v = take(m, cur, B * S * d);
	f->a = take(m, cur, na);
	f->ad = take(m, cur, na);
	f->o = take(m, cur, B * ro * d);
	f->y = take(m, cur, B * ro * d);
	f->yd = take(m, cur, B * ro * d);
	f->q = take(m, cur, nq);
	f->qpre = take(m, cur, d);
	f->am = (uint8_t *)take(m, cur, (na + 3) / 4);
	f->ym = (uint8_t *)take(m, cur, (B * ro * d + 3) / 4);
	f->dseq = take(m, cur, B * S * d);
	f->dk = take(m, cur, B * S * d);
	f->dv = take(m, cur, B * S * d);
	f->dob = take(m, cur, B * ro * d);
	f->dy = take(m, cur, B * ro * d);
	f->dyd = take(m, cur, B * ro * d);
	f->dq = take(m, cur, nq);
	f->dqpre = take(m, cur, d);
	f->dsc = f->full ? take(m, cur, S * S) : NULL;
	/* R_total in double: 2 floats per element */
	f->R = (double *)(void *)take(m, cur, 2 * d * d);
}

/* a block's activations over BN = B N rows, H heads */
static void
layout_blk(rq_model *m, blka *b, size_t *cur, size_t B, size_t N, size_t H)
{
	size_t d = (size_t)m->cfg.d, hd = (size_t)m->cfg.mlp * d, BN = B * N;

	b->ln1 = take(m, cur, BN * d);
	b->mu1 = take(m, cur, BN);
	b->rs1 = take(m, cur, BN);
	b->qkv = take(m, cur, 3 * BN * d);
	b->att = take(m, cur, B * H * N * N);
	b->ao = take(m, cur, BN * d);
	b->xmid = take(m, cur, BN * d);
	b->ln2 = take(m, cur, BN * d);
	b->mu2 = take(m, cur, BN);
	b->rs2 = take(m, cur, BN);
	b->h1 = take(m, cur, BN * hd);
	b->h2 = take(m, cur, BN * hd);
}

static void
layout_mbt(rq_model *m, size_t *cur)
{
	size_t B = (size_t)m->cfg.batch, d = (size_t)m->cfg.d;
	size_t nb = (size_t)m->nbt;

	for (int l = 0; l <= m->nmbt; l++)
		m->tb[l] = take(m, cur, B * nb * d);
	for (int e = 0; e < 2; e++) {
		size_t N = (size_t)m->enc[e].N, M = nb + N;
		for (int l = 0; l < m->nmbt; l++) {
			m->mb[l].zin[e] = take(m, cur, B * M * d);
			m->mb[l].zout[e] = take(m, cur, B * M * d);
			layout_blk(m, &m->mb[l].ba[e], cur, B, M, 1);
		}
		m->xf[e] = take(m, cur, B * N * d);
		m->mbg[e] = take(m, cur, B * N * d);
		m->enc[e].fin = m->xf[e];
	}
	m->dtb[0] = take(m, cur, B * nb * d);
	m->dtb[1] = take(m, cur, B * nb * d);
}

/* one attention sub-layer's activations: Nx query rows, Ny key rows */
static void
layout_cme_attn(rq_model *m, cmea *a, size_t *cur, size_t Nx, size_t Ny)
{
	size_t B = (size_t)m->cfg.batch, d = (size_t)m->cfg.d;
	size_t H = (size_t)m->cfg.heads, n = B * Nx * d;

	a->q = take(m, cur, n);
	a->k = take(m, cur, B * Ny * d);
	a->v = take(m, cur, B * Ny * d);
	a->att = take(m, cur, B * H * Nx * Ny);
	a->ctx = take(m, cur, n);
	a->o = take(m, cur, n);
	a->od = take(m, cur, n);
	a->r = take(m, cur, n);
	a->y = take(m, cur, n);
	a->mu = take(m, cur, B * Nx);
	a->rs = take(m, cur, B * Nx);
	a->mk = (uint8_t *)take(m, cur, (n + 3) / 4);
}

static void
layout_cme(rq_model *m, size_t *cur, size_t Nmax)
{
	size_t B = (size_t)m->cfg.batch, d = (size_t)m->cfg.d;
	size_t hd = (size_t)m->cfg.mlp * d;

	for (int l = 0; l < m->ncme; l++)
		for (int e = 0; e < 2; e++) {
			cmes *s = &m->cme[l][e];
			size_t N = (size_t)m->enc[e].N, No = (size_t)m->enc[!e].N;
			layout_cme_attn(m, &s->ca, cur, N, No);
			layout_cme_attn(m, &s->sa, cur, N, N);
			layout_cme_attn(m, &s->fa, cur, N, 0);
			s->fa.f1 = take(m, cur, B * N * hd);
			s->fa.rl = take(m, cur, B * N * hd);
			s->qpre = take(m, cur, B * d);
		}
	for (int e = 0; e < 2; e++) {
		size_t N = (size_t)m->enc[e].N;
		m->cgo[e] = take(m, cur, B * N * d);
		m->cgi[e] = take(m, cur, B * N * d);
		m->cR[e] = (double *)(void *)take(m, cur, 2 * d * d);
		m->cq[e] = take(m, cur, d);
	}
	m->cgA = take(m, cur, B * Nmax * d);
	m->cgB = take(m, cur, B * Nmax * d);
	m->cdr = take(m, cur, B * Nmax * d);
	m->cdo = take(m, cur, B * Nmax * d);
	m->cdc = take(m, cur, B * Nmax * d);
	m->cdq = take(m, cur, B * Nmax * d);
	m->cdk = take(m, cur, B * Nmax * d);
	m->cdv = take(m, cur, B * Nmax * d);
	m->cdh1 = take(m, cur, B * Nmax * hd);
	m->cdh2 = take(m, cur, B * Nmax * hd);
	m->cscr = take(m, cur, Nmax * Nmax);
	m->ckm = take(m, cur, 2 * d);
	m->hf = take(m, cur, 2 * B * d);
	m->dhf = take(m, cur, 2 * B * d);
	for (int i = 0; i < 2; i++) {
		m->hz[i] = take(m, cur, B * d);
		m->hr[i] = take(m, cur, B * d);
		m->dhz[i] = take(m, cur, B * d);
		m->dhr[i] = take(m, cur, B * d);
	}
}

static void
layout_jmt(rq_model *m, size_t *cur)
{
	jmtl *j = &m->jm;
	size_t B = (size_t)m->cfg.batch, d = (size_t)m->cfg.d;

	j->seq = take(m, cur, 3 * B * d);
	j->k = take(m, cur, 3 * B * d);
	j->v = take(m, cur, 3 * B * d);
	j->dseq = take(m, cur, 3 * B * d);
	j->dk = take(m, cur, 3 * B * d);
	j->dv = take(m, cur, 3 * B * d);
	j->q = take(m, cur, B * d);
	j->o = take(m, cur, B * d);
	j->y = take(m, cur, B * d);
	j->yd = take(m, cur, B * d);
	j->dq = take(m, cur, B * d);
	j->dob = take(m, cur, B * d);
	j->dy = take(m, cur, B * d);
	j->dyd = take(m, cur, B * d);
	j->dy1 = take(m, cur, B * d);
	j->a = take(m, cur, 3 * B);
	j->ad = take(m, cur, 3 * B);
	j->am = (uint8_t *)take(m, cur, (3 * B + 3) / 4);
	j->ym = (uint8_t *)take(m, cur, (B * d + 3) / 4);
}

/* MuT's activations; x[0] of each direction is its target's tok */
static void
layout_mut(rq_model *m, size_t *cur, size_t Nmax)
{
	const rq_model_cfg *c = &m->cfg;
	size_t B = (size_t)c->batch, d = (size_t)c->d, scr = 0;
	int hd = c->mlp * c->d;

	for (int e = 0; e < 2; e++) {
		mutd *t = &m->mt[e];
		int N = m->enc[e].N, No = m->enc[!e].N;
		size_t BN = B * (size_t)N;
		t->x[0] = m->enc[e].tok;
		for (int l = 0; l < m->nmut; l++) {
			size_t n = rq_xmod_layout(&t->xa[l], NULL, c->batch, N, No,
			    c->d, c->heads, hd);
			rq_xmod_layout(&t->xa[l], take(m, cur, n), c->batch, N, No,
			    c->d, c->heads, hd);
			t->x[l + 1] = take(m, cur, BN * d);
		}
		t->cf = take(m, cur, BN * d);
		t->cmu = take(m, cur, BN);
		t->crs = take(m, cur, BN);
		t->mx[0] = t->cf;
		for (int j = 0; j < m->nmem; j++) {
			layout_blk(m, &t->ba[j], cur, B, (size_t)N,
			    (size_t)c->heads);
			t->mx[j + 1] = take(m, cur, BN * d);
		}
		t->mem = take(m, cur, BN * d);
		t->mmu = take(m, cur, BN);
		t->mrs = take(m, cur, BN);
		t->dmem = take(m, cur, BN * d);
		scr = RQ_MAX(scr, rq_xmod_scratch_floats(c->batch, N, No, c->d,
		    hd));
	}
	m->mscr = take(m, cur, scr);
	m->mg[0] = take(m, cur, B * Nmax * d);
	m->mg[1] = take(m, cur, B * Nmax * d);
	m->mh = take(m, cur, 3 * B * d);
	m->mz = take(m, cur, 3 * B * d);
	m->mr = take(m, cur, 3 * B * d);
	m->mh2 = take(m, cur, 3 * B * d);
	m->dmh = take(m, cur, 3 * B * d);
	m->dmz = take(m, cur, 3 * B * d);
	m->dmr = take(m, cur, 3 * B * d);
	m->dmh2 = take(m, cur, 3 * B * d);
}

static void
layout(rq_model *m)
{
	const rq_model_cfg *c = &m->cfg;
	size_t cur = 0, B = (size_t)c->batch, d = (size_t)c->d;
	size_t hd = (size_t)c->mlp * d, H = (size_t)c->heads;
	size_t K = (size_t)c->classes, Nmax = 1, Pmax = 1;

	m->params = take(m, &cur, m->nparams);
	m->grads = take(m, &cur, m->nparams);
	for (int i = 0; i < c->opt_slots; i++)
		m->state[i] = take(m, &cur, m->nparams);
	for (int e = 0; e < 2; e++) {
		encoder *en = &m->enc[e];
		size_t N, BN;
		if (!en->on)
			continue;
		N = (size_t)en->N;
		BN = B * N;
		Nmax = RQ_MAX(Nmax, N);
		Pmax = RQ_MAX(Pmax, (size_t)en->P);
		en->patches = take(m, &cur, B * en->P * en->pdim);
		en->pe = take(m, &cur, B * en->P * d);
		for (int l = 0; l <= c->depth; l++)
			en->x[l] = take(m, &cur, BN * d);
		for (int l = 0; l < c->depth; l++) {
			blka *b = &en->ba[l];
			b->ln1 = take(m, &cur, BN * d);
			b->mu1 = take(m, &cur, BN);
			b->rs1 = take(m, &cur, BN);
			b->qkv = take(m, &cur, 3 * BN * d);
			b->att = take(m, &cur, B * H * N * N);
			b->ao = take(m, &cur, BN * d);
			b->xmid = take(m, &cur, BN * d);
			b->ln2 = take(m, &cur, BN * d);
			b->mu2 = take(m, &cur, BN);
			b->rs2 = take(m, &cur, BN);
			b->h1 = take(m, &cur, BN * hd);
			b->h2 = take(m, &cur, BN * hd);
		}
		en->tok = take(m, &cur, BN * d);
		en->mu = take(m, &cur, BN);
		en->rs = take(m, &cur, BN);
		en->clsout = take(m, &cur, B * d);
		en->dtok = take(m, &cur, BN * d);
		en->fin = en->x[c->depth];
	}
	if (m->nmbt > 0) {
		Nmax += (size_t)m->nbt;
		layout_mbt(m, &cur);
	}
	if (m->ncme > 0)
		layout_cme(m, &cur, Nmax);
	m->dres = take(m, &cur, B * Nmax * d);
	m->dln = take(m, &cur, B * Nmax * d);
	m->dqkv = take(m, &cur, 3 * B * Nmax * d);
	m->dao = take(m, &cur, B * Nmax * d);
	m->dh1 = take(m, &cur, B * Nmax * hd);
	m->dh2 = take(m, &cur, B * Nmax * hd);
	m->scr = take(m, &cur, B * H * Nmax * Nmax);
	m->dpe = take(m, &cur, B * Pmax * d);
	for (int i = 0; i < 3; i++) {
		m->logits[i] = take(m, &cur, B * K);
		m->probs[i] = take(m, &cur, B * K);
	}
	m->dlog = take(m, &cur, B * K);
	m->feat = take(m, &cur, 2 * B * d);
	m->dfeat = take(m, &cur, 2 * B * d);
	for (int l = 0; l < m->nfu; l++)
		layout_fusion(m, &m->fu[l], &cur);
	if (m->jm.on)
		layout_jmt(m, &cur);
	if (m->nmut > 0)
		layout_mut(m, &cur, Nmax);
	m->xg = take(m, &cur, 2 * B * d);
	m->arena_floats = cur;
}

int
rq_model_alloc(rq_model *m)
{
	size_t n;

	m->arena = NULL;
	layout(m);
	n = m->arena_floats;
	if (n > SIZE_MAX / sizeof(float) / 2)
		return RQ_ERANGE;
	if ((m->arena = aligned_alloc(64, ((n * sizeof(float)) + 63) &
	    ~(size_t)63)) == NULL)
		return RQ_ENOMEM;
	memset(m->arena, 0, n * sizeof(float));
	layout(m);
	for (int l = 0; l < m->nfu; l++) {
		size_t d = (size_t)m->cfg.d;
		for (size_t i = 0; i < d; i++)
			m->fu[l].R[i * d + i] = 1;
		m->fu[l].rot = 0;
	}
	for (int e = 0; e < 2 && m->ncme > 0; e++) {
		size_t d = (size_t)m->cfg.d;
		for (size_t i = 0; i < d; i++)
			m->cR[e][i * d + i] = 1;
		m->crot[e] = 0;
	}
	return RQ_OK;
}

void
rq_model_free(rq_model *m)
{
	if (m == NULL)
		return;
	free(m->arena);
	free(m->tab);
	free(m);
}

const rq_model_cfg *rq_model_config(const rq_model *m) { return &m->cfg; }
size_t rq_model_nparams(const rq_model *m) { return m->nparams; }
int rq_model_ntable(const rq_model *m) { return m->ntab; }
float *rq_model_params(rq_model *m) { return m->params; }
float *rq_model_grads(rq_model *m) { return m->grads; }
/* MMML: its two RollingQ sites (audio stream, visual stream) */
int rq_model_fusion_layers(const rq_model *m)
{
	return m->ncme > 0 ? 2 : m->nfu;
}

size_t
rq_model_arena_bytes(const rq_model *m)
{
	rq_model *mm = (rq_model *)m;

	if (m->arena_floats == 0 && m->arena == NULL)
		layout(mm);
	return m->arena_floats * sizeof(float);
}

float *
rq_model_state(rq_model *m, int slot)
{
	return slot >= 0 && slot < m->cfg.opt_slots ? m->state[slot] : NULL;
}

const rq_param *
rq_model_table(const rq_model *m, int i)
{
	return i >= 0 && i < m->ntab ? &m->tab[i] : NULL;
}

const rq_param *
rq_model_find(const rq_model *m, const char *name)
{
	for (int i = 0; i < m->ntab; i++)
		if (strcmp(m->tab[i].name, name) == 0)
			return &m->tab[i];
	return NULL;
}

int
rq_model_tokens(const rq_model *m, int *na, int *nv)
{
	*na = m->enc[0].on ? m->enc[0].N : 0;
	*nv = m->enc[1].on ? m->enc[1].N : 0;
	return RQ_OK;
}

double *
rq_model_rotation(rq_model *m, int layer)
{
	if (m->ncme > 0)
		return layer == 0 || layer == 1 ? m->cR[layer] : NULL;
	return layer >= 0 && layer < m->nfu ? m->fu[layer].R : NULL;
}

long *
rq_model_rotations(rq_model *m, int layer)
{
	if (m->ncme > 0)
		return layer == 0 || layer == 1 ? &m->crot[layer] : NULL;
	return layer >= 0 && layer < m->nfu ? &m->fu[layer].rot : NULL;
}

/* multiply-accumulate count x 2, per sample; elementwise ops left out */
double
rq_model_flops(const rq_model *m)
{
	const rq_model_cfg *c = &m->cfg;
	double d = c->d, hd = (double)c->mlp * c->d, K = c->classes, f = 0;

	for (int e = 0; e < 2; e++) {
		const encoder *en = &m->enc[e];
		double N = en->N;
		if (!en->on)
			continue;
		f += 2.0 * en->P * en->pdim * d;
		f += c->depth * (2 * N * d * 3 * d + 4 * N * N * d +
		    2 * N * d * d + 4 * N * d * hd);
	}
	if (c->method == RQ_METHOD_MT) {
		double S = 1 + m->enc[0].N + m->enc[1].N;
		f += 4 * S * d * d + 2 * d * d + 4 * S * d + 2 * d * d +
		    2 * d * K;
		f += 2 * d * d;   /* R q; subtract for the model without R */
	} else if (c->method == RQ_METHOD_MTSTAR) {
		double S = 1 + m->enc[0].N + m->enc[1].N, S2 = S + 1;
		/* layer 1: Q K V over S rows, A = QK^T, AV, output map */
		f += 8 * S * d * d + 4 * S * S * d + 2 * d * d;
		/* layer 2 as MT over S + 1 tokens, then the head */
		f += 4 * S2 * d * d + 2 * d * d + 4 * S2 * d + 2 * d * d +
		    2 * d * K;
		f += 2 * 2 * d * d;   /* R1 q1, R2 q2 */
	} else if (c->method == RQ_METHOD_JMT) {
		double S = 1 + m->enc[0].N + m->enc[1].N;
		f += 4 * S * d * d + 2 * d * d + 4 * S * d + 2 * d * d +
		    2 * d * K;
		f += 2 * d * d;   /* R q */
		/* layer 2: q, o one row, k, v three, products over 3 tokens */
		f += 2 * d * d + 12 * d * d + 2 * d * d + 12 * d;
	} else if (c->method == RQ_METHOD_CONCAT || c->method == RQ_METHOD_MBT)
		f += 4 * d * K;
	else
		f += (c->method == RQ_METHOD_SUM ? 4 : 2) * d * K;
	/* MMML: per layer and stream, cross (Q own, K V other), self, FFN;
	 * the MLP head 2d -> d -> d/2 -> K */
	for (int e = 0; e < 2 && c->method == RQ_METHOD_MMML; e++) {
		double N = m->enc[e].N, No = m->enc[!e].N;
		f += c->fdepth * (4 * N * d * d + 4 * No * d * d + 4 * N * No * d +
		    8 * N * d * d + 4 * N * N * d + 4 * N * d * hd);
	}
	if (c->method == RQ_METHOD_MMML)
		f += 2 * (2 * d * d + d * (c->d / 2) + (c->d / 2) * K) -
		    2 * d * K;
	/* MuT: per direction the crossmodal layers (q, o, FFN on the
	 * target's rows, k, v on the source's), the memory blocks; MT's
	 * query layer with R; the read-out 3d -> 3d -> 3d -> K */
	for (int e = 0; e < 2 && c->method == RQ_METHOD_MUT; e++) {
		double N = m->enc[e].N, No = m->enc[!e].N;
		f += m->nmut * (4 * N * d * d + 4 * No * d * d +
		    4 * N * No * d + 4 * N * d * hd);
		f += m->nmem * (2 * N * d * 3 * d + 4 * N * N * d +
		    2 * N * d * d + 4 * N * d * hd);
	}
	if (c->method == RQ_METHOD_MUT) {
		double S = 1 + m->enc[0].N + m->enc[1].N;
		f += 4 * S * d * d + 2 * d * d + 4 * S * d + 2 * d * d +
		    2 * d * d;
		f += 2 * (9 * d * d + 9 * d * d + 3 * d * K) - 2 * d * K;
	}
	/* MBT: one 1-head block per stream and layer over nb + N tokens */
	for (int e = 0; e < 2 && m->nmbt > 0; e++) {
		double M = m->nbt + m->enc[e].N;
		f += m->nmbt * (2 * M * d * 3 * d + 4 * M * M * d +
		    2 * M * d * d + 4 * M * d * hd);
	}
	if (m->has_probe)
		f += 4 * d * K;
	return f;
}

/* truncated normal at +-2 std */
/*
 * N(0, std^2) truncated to [-2, 2] in absolute units, as torch's
 * trunc_normal_(std=std) with its default a=-2, b=2 (at std 0.02 the cut
 * is at 100 standard deviations, so in practice a plain normal).
 */
static double
tnormal(rq_rng *r, double std)
{
	double x;

	do
		x = std * rq_rng_normal(r);
	while (x < -2 || x > 2);
	return x;
}

void
rq_model_init_params(rq_model *m, rq_rng *rng)
{
	for (int i = 0; i < m->ntab; i++) {
		const rq_param *p = &m->tab[i];
		float *w = m->params + p->off;
		double s;
		switch (p->init) {
		case RQ_INIT_XAVIER:
			s = sqrt(2.0 / (double)(p->dims[0] + p->dims[1]));
			for (size_t j = 0; j < p->n; j++)
				w[j] = (float)(s * rq_rng_normal(rng));
			break;
		case RQ_INIT_ZERO:
			memset(w, 0, p->n * sizeof *w);
			break;
		case RQ_INIT_ONE:
			for (size_t j = 0; j < p->n; j++)
				w[j] = 1;
			break;
		case RQ_INIT_POS:
		case RQ_INIT_FCLS:
			for (size_t j = 0; j < p->n; j++)
				w[j] = (float)tnormal(rng, 0.02);
			break;
		case RQ_INIT_CLS:
			for (size_t j = 0; j < p->n; j++)
				w[j] = (float)(1e-6 * rq_rng_normal(rng));
			break;
		}
	}
}

void
rq_model_zero_grad(rq_model *m)
{
	memset(m->grads, 0, m->nparams * sizeof(float));
}

#define PP(off) (m->params + (off))
#define GG(off) (m->grads + (off))

static void
im2col(const rq_model *m, int e, const float *x, int B)
{
	const rq_model_cfg *c = &m->cfg;
	const encoder *en = &m->enc[e];
	float *out = en->patches;

	if (e == 0) {
		int nr = c->F / c->pf, nc = c->T / c->pt;
		for (int b = 0; b < B; b++) {
			const float *s = x + (size_t)b * c->F * c->T;
			for (int i = 0; i < nr; i++)
				for (int j = 0; j < nc; j++)
					for (int u = 0; u < c->pf; u++)
						for (int w = 0; w < c->pt; w++)
							*out++ = s[(size_t)(i * c->pf + u) *
							    c->T + j * c->pt + w];
		}
	} else {
		int fr = c->C / c->vc, nr = c->H / c->ph, nc = c->W / c->pw;
		size_t hw = (size_t)c->H * c->W;
		for (int b = 0; b < B; b++) {
			const float *s = x + (size_t)b * c->C * hw;
			for (int f = 0; f < fr; f++)
				for (int i = 0; i < nr; i++)
					for (int j = 0; j < nc; j++)
						for (int ch = 0; ch < c->vc; ch++) {
							const float *p = s +
							    (size_t)(f * c->vc + ch) * hw;
							for (int u = 0; u < c->ph; u++)
								for (int w = 0; w < c->pw; w++)
									*out++ = p[(size_t)(i * c->ph + u) *
									    c->W + j * c->pw + w];
						}
		}
	}
}

/*
 * One pre-LN ViT block over xin [B,N,d] with H heads:
 *   xmid = xin + proj(MHSA(LN1 xin));  xout = xmid + fc2(GELU(fc1(LN2 xmid)))
 */
static void
blk_forward(rq_model *m, const blkp *p, blka *a, const float *xin,
    float *xout, int B, int N, int H)
{
	int d = m->cfg.d, hd = m->cfg.mlp * m->cfg.d, BN = B * N;
	size_t n = (size_t)BN * d;

	rq_layernorm_forward(a->ln1, a->mu1, a->rs1, xin, PP(p->ln1g),
	    PP(p->ln1b), BN, d, LN_EPS);
	rq_linear_forward(a->qkv, a->ln1, PP(p->qkvw), PP(p->qkvb), BN, d,
	    3 * d);
	rq_mhsa_forward(a->ao, a->att, a->qkv, B, N, d, H);
	rq_linear_forward(a->xmid, a->ao, PP(p->projw), PP(p->projb), BN,
	    d, d);
	for (size_t i = 0; i < n; i++)
		a->xmid[i] += xin[i];
	rq_layernorm_forward(a->ln2, a->mu2, a->rs2, a->xmid, PP(p->ln2g),
	    PP(p->ln2b), BN, d, LN_EPS);
	rq_linear_forward(a->h1, a->ln2, PP(p->fc1w), PP(p->fc1b), BN, d,
	    hd);
	rq_gelu_forward(a->h2, a->h1, (size_t)BN * hd);
	rq_linear_forward(xout, a->h2, PP(p->fc2w), PP(p->fc2b), BN, hd, d);
	for (size_t i = 0; i < n; i++)
		xout[i] += a->xmid[i];
}

/* m->dres [B,N,d]: dL/dxout in, dL/dxin out; accumulates the weights' */
static void
blk_backward(rq_model *m, const blkp *p, blka *a, const float *xin, int B,
    int N, int H)
{
	int d = m->cfg.d, hd = m->cfg.mlp * m->cfg.d, BN = B * N;
	size_t nd = (size_t)BN * d, nh = (size_t)BN * hd;

	/* _set: the input gradient is written, not zeroed and added */
	if (rq_fuse() & RQ_FUSE_DGELU)	/* GELU' in fc2's dx store */
		rq_linear_backward_gelu(m->dh1, GG(p->fc2w), GG(p->fc2b),
		    m->dres, a->h2, a->h1, PP(p->fc2w), BN, hd, d);
	else {
		rq_linear_backward_set(m->dh2, GG(p->fc2w), GG(p->fc2b),
		    m->dres, a->h2, PP(p->fc2w), BN, hd, d);
		rq_gelu_backward_y(m->dh1, m->dh2, a->h1, a->h2, nh);
	}
	rq_linear_backward_set(m->dln, GG(p->fc1w), GG(p->fc1b), m->dh1,
	    a->ln2, PP(p->fc1w), BN, d, hd);
	rq_layernorm_backward(m->dres, GG(p->ln2g), GG(p->ln2b), m->dln,
	    a->xmid, PP(p->ln2g), a->mu2, a->rs2, BN, d);
	rq_linear_backward_set(m->dao, GG(p->projw), GG(p->projb), m->dres,
	    a->ao, PP(p->projw), BN, d, d);
	if (rq_fuse() & RQ_FUSE_ATT)
		rq_mhsa_backward_set(m->dqkv, m->scr, m->dao, a->qkv, a->att,
		    B, N, d, H);
	else {
		memset(m->dqkv, 0, 3 * nd * sizeof(float));
		rq_mhsa_backward(m->dqkv, m->scr, m->dao, a->qkv, a->att, B,
		    N, d, H);
	}
	rq_linear_backward_set(m->dln, GG(p->qkvw), GG(p->qkvb), m->dqkv,
	    a->ln1, PP(p->qkvw), BN, d, 3 * d);
	rq_layernorm_backward(m->dres, GG(p->ln1g), GG(p->ln1b), m->dln,
	    xin, PP(p->ln1g), a->mu1, a->rs1, BN, d);
}

/* tok = LN(fin) and its CLS rows */
static void
encoder_final(rq_model *m, int e, int B)
{
	encoder *en = &m->enc[e];
	int d = m->cfg.d, N = en->N;

	rq_layernorm_forward(en->tok, en->mu, en->rs, en->fin, PP(en->lng),
	    PP(en->lnb), B * N, d, LN_EPS);
	for (int b = 0; b < B; b++)
		memcpy(en->clsout + (size_t)b * d, en->tok + (size_t)b * N * d,
		    (size_t)d * sizeof(float));
}

/* the embedding and the blocks; the final LN too unless MBT runs first */
static void
encoder_forward(rq_model *m, int e, const float *x, int B)
{
	const rq_model_cfg *c = &m->cfg;
	encoder *en = &m->enc[e];
	int d = c->d, N = en->N, P = en->P;

	im2col(m, e, x, B);
	rq_linear_forward(en->pe, en->patches, PP(en->pw), PP(en->pb), B * P,
	    en->pdim, d);
	for (int b = 0; b < B; b++) {
		float *x0 = en->x[0] + (size_t)b * N * d;
		const float *pos = PP(en->pos), *cls = PP(en->cls);
		for (int j = 0; j < d; j++)
			x0[j] = cls[j] + pos[j];
		for (int t = 1; t < N; t++) {
			const float *pe = en->pe + ((size_t)b * P + t - 1) * d;
			for (int j = 0; j < d; j++)
				x0[(size_t)t * d + j] = pe[j] + pos[(size_t)t * d + j];
		}
	}
	for (int l = 0; l < c->depth; l++)
		blk_forward(m, &en->bp[l], &en->ba[l], en->x[l], en->x[l + 1], B,
		    N, c->heads);
	if (m->nmbt == 0)
		encoder_final(m, e, B);
}

/* the final LN's backward: dL/dtok (en->dtok) to dL/dfin added to out */
static void
encoder_final_backward(rq_model *m, int e, int B, float *out)
{
	encoder *en = &m->enc[e];

	rq_layernorm_backward(out, GG(en->lng), GG(en->lnb), en->dtok, en->fin,
	    PP(en->lng), en->mu, en->rs, B * en->N, m->cfg.d);
}

/* en->dtok holds dL/dtok (MBT: m->mbg[e] holds dL/dx[depth]);
 * accumulates every encoder gradient */
static void
encoder_backward(rq_model *m, int e, int B)
{
	const rq_model_cfg *c = &m->cfg;
	encoder *en = &m->enc[e];
	int d = c->d, N = en->N, P = en->P, BN = B * N;
	size_t nd = (size_t)BN * d;

	if (m->nmbt > 0)
		memcpy(m->dres, m->mbg[e], nd * sizeof(float));
	else {
		memset(m->dres, 0, nd * sizeof(float));
		encoder_final_backward(m, e, B, m->dres);
	}
	for (int l = c->depth - 1; l >= 0; l--)
		blk_backward(m, &en->bp[l], &en->ba[l], en->x[l], B, N, c->heads);
	for (int b = 0; b < B; b++) {
		const float *r = m->dres + (size_t)b * N * d;
		float *gc = GG(en->cls), *gp = GG(en->pos);
		for (int j = 0; j < d; j++)
			gc[j] += r[j];
		for (size_t i = 0; i < (size_t)N * d; i++)
			gp[i] += r[i];
		memcpy(m->dpe + (size_t)b * P * d, r + d,
		    (size_t)P * d * sizeof(float));
	}
	rq_linear_backward(NULL, GG(en->pw), GG(en->pb), m->dpe, en->patches,
	    PP(en->pw), B * P, en->pdim, d);
}

/*
 * MBT's bottleneck layers (see the top comment), from the encoders' last
 * block outputs x[depth] to fin = xf, then the final LNs.
 */
static void
mbt_forward(rq_model *m, int B)
{
	int d = m->cfg.d, nb = m->nbt;
	size_t nbd = (size_t)nb * d;

	for (int b = 0; b < B; b++)
		memcpy(m->tb[0] + (size_t)b * nbd, PP(m->bot), nbd * sizeof(float));
	for (int l = 0; l < m->nmbt; l++) {
		mbtl *L = &m->mb[l];
		for (int e = 0; e < 2; e++) {
			int N = m->enc[e].N, M = nb + N;
			size_t Nd = (size_t)N * d, Md = (size_t)M * d;
			for (int b = 0; b < B; b++) {
				const float *x = l == 0 ?
				    m->enc[e].x[m->cfg.depth] + (size_t)b * Nd :
				    m->mb[l - 1].zout[e] + (size_t)b * Md + nbd;
				float *z = L->zin[e] + (size_t)b * Md;
				memcpy(z, m->tb[l] + (size_t)b * nbd,
				    nbd * sizeof(float));
				memcpy(z + nbd, x, Nd * sizeof(float));
			}
			blk_forward(m, &L->bp[e], &L->ba[e], L->zin[e], L->zout[e],
			    B, M, 1);
		}
		for (int b = 0; b < B; b++) {
			const float *za = L->zout[0] + (size_t)b * (nb +
			    m->enc[0].N) * d;
			const float *zv = L->zout[1] + (size_t)b * (nb +
			    m->enc[1].N) * d;
			float *t = m->tb[l + 1] + (size_t)b * nbd;
			for (size_t i = 0; i < nbd; i++)
				t[i] = 0.5f * (za[i] + zv[i]);
		}
	}
	for (int e = 0; e < 2; e++) {
		int N = m->enc[e].N;
		size_t Nd = (size_t)N * d, Md = (size_t)(nb + N) * d;
		for (int b = 0; b < B; b++)
			memcpy(m->xf[e] + (size_t)b * Nd, m->mb[m->nmbt - 1].zout[e] +
			    (size_t)b * Md + nbd, Nd * sizeof(float));
		encoder_final(m, e, B);
	}
}

/*
 * From dL/dtok of both streams to m->mbg[e] = dL/dx[depth].  Per layer,
 * backward: dzout_e = [dTb_out / 2 ; dx_e]; dTb_in = sum_e dzin_e[..nb];
 * the last layer's Tb is discarded (dTb_out = 0); mbt.bot gets the batch
 * sum of layer 0's dTb_in.
 */
static void
mbt_backward(rq_model *m, int B)
{
	int d = m->cfg.d, nb = m->nbt;
	size_t nbd = (size_t)nb * d, Bnb = (size_t)B * nbd;
	float *dout = m->dtb[0], *din = m->dtb[1], *gb = GG(m->bot);

	for (int e = 0; e < 2; e++) {
		memset(m->mbg[e], 0, (size_t)B * m->enc[e].N * d * sizeof(float));
		encoder_final_backward(m, e, B, m->mbg[e]);
	}
	memset(dout, 0, Bnb * sizeof(float));
	for (int l = m->nmbt - 1; l >= 0; l--) {
		mbtl *L = &m->mb[l];
		memset(din, 0, Bnb * sizeof(float));
		for (int e = 0; e < 2; e++) {
			int N = m->enc[e].N, M = nb + N;
			size_t Nd = (size_t)N * d, Md = (size_t)M * d;
			for (int b = 0; b < B; b++) {
				float *z = m->dres + (size_t)b * Md;
				const float *t = dout + (size_t)b * nbd;
				for (size_t i = 0; i < nbd; i++)
					z[i] = 0.5f * t[i];
				memcpy(z + nbd, m->mbg[e] + (size_t)b * Nd,
				    Nd * sizeof(float));
			}
			blk_backward(m, &L->bp[e], &L->ba[e], L->zin[e], B, M, 1);
			for (int b = 0; b < B; b++) {
				const float *z = m->dres + (size_t)b * Md;
				float *t = din + (size_t)b * nbd;
				for (size_t i = 0; i < nbd; i++)
					t[i] += z[i];
				memcpy(m->mbg[e] + (size_t)b * Nd, z + nbd,
				    Nd * sizeof(float));
			}
		}
		{ float *t = dout; dout = din; din = t; }
	}
	for (int b = 0; b < B; b++)
		for (size_t i = 0; i < nbd; i++)
			gb[i] += dout[(size_t)b * nbd + i];
}

/* R x and R^T x in double; defined below */
static void rot_apply(float *out, const double *R, const float *x, int d);
static void rot_apply_t(float *out, const double *R, const float *x, int d);

#define CME_EPS 1e-12f

/*
 * One MMML attention sub-layer: y = LN(x + drop(MHA(x Wq, src Wk, src Wv)
 * Wo)); Nx rows of x, Ny of src (x itself for self-attention).  With R,
 * row 0 of every sample's Q is replaced by R (Wq x_0 + bq), kept in qpre.
 */
static void
cme_attn_forward(rq_model *m, const cmep *p, cmea *a, const float *x,
    int Nx, const float *src, int Ny, int B, float pd, rq_rng *rng,
    const double *R, float *qpre)
{
	int d = m->cfg.d;
	size_t n = (size_t)B * Nx * d;

	rq_linear_forward(a->q, x, PP(p->qw), PP(p->qb), B * Nx, d, d);
	rq_linear_forward(a->k, src, PP(p->kw), PP(p->kb), B * Ny, d, d);
	rq_linear_forward(a->v, src, PP(p->vw), PP(p->vb), B * Ny, d, d);
	if (R != NULL)
		for (int b = 0; b < B; b++) {
			float *q0 = a->q + (size_t)b * Nx * d;
			memcpy(qpre + (size_t)b * d, q0, (size_t)d * sizeof(float));
			rot_apply(q0, R, qpre + (size_t)b * d, d);
		}
	rq_xattn_forward(a->ctx, a->att, a->q, a->k, a->v, B, Nx, Ny, d,
	    m->cfg.heads);
	rq_linear_forward(a->o, a->ctx, PP(p->ow), PP(p->ob), B * Nx, d, d);
	rq_dropout_forward(a->od, a->mk, a->o, n, pd, rng);
	for (size_t i = 0; i < n; i++)
		a->r[i] = x[i] + a->od[i];
	rq_layernorm_forward(a->y, a->mu, a->rs, a->r, PP(p->lg), PP(p->lb),
	    B * Nx, d, CME_EPS);
}

/* dy [B,Nx,d] -> dx += (residual and Q path), dsrc += (K and V paths) */
static void
cme_attn_backward(rq_model *m, const cmep *p, cmea *a, const float *x,
    int Nx, const float *src, int Ny, int B, const float *dy, float *dx,
    float *dsrc, const double *R)
{
	int d = m->cfg.d;
	size_t n = (size_t)B * Nx * d, ny = (size_t)B * Ny * d;

	memset(m->cdr, 0, n * sizeof(float));
	rq_layernorm_backward(m->cdr, GG(p->lg), GG(p->lb), dy, a->r,
	    PP(p->lg), a->mu, a->rs, B * Nx, d);
	for (size_t i = 0; i < n; i++)
		dx[i] += m->cdr[i];
	memset(m->cdo, 0, n * sizeof(float));
	rq_dropout_backward(m->cdo, m->cdr, a->mk, n, m->p_used);
	memset(m->cdc, 0, n * sizeof(float));
	rq_linear_backward(m->cdc, GG(p->ow), GG(p->ob), m->cdo, a->ctx,
	    PP(p->ow), B * Nx, d, d);
	memset(m->cdq, 0, n * sizeof(float));
	memset(m->cdk, 0, ny * sizeof(float));
	memset(m->cdv, 0, ny * sizeof(float));
	rq_xattn_backward(m->cdq, m->cdk, m->cdv, m->cscr, m->cdc, a->q, a->k,
	    a->v, a->att, B, Nx, Ny, d, m->cfg.heads);
	if (R != NULL)
		for (int b = 0; b < B; b++) {
			float *g = m->cdq + (size_t)b * Nx * d;
			memcpy(m->cdr, g, (size_t)d * sizeof(float));
			rot_apply_t(g, R, m->cdr, d);
		}
	rq_linear_backward(dx, GG(p->qw), GG(p->qb), m->cdq, x, PP(p->qw),
	    B * Nx, d, d);
	rq_linear_backward(dsrc, GG(p->kw), GG(p->kb), m->cdk, src, PP(p->kw),
	    B * Ny, d, d);
	rq_linear_backward(dsrc, GG(p->vw), GG(p->vb), m->cdv, src, PP(p->vw),
	    B * Ny, d, d);
}

/* y = LN(x + drop(fc2(ReLU(fc1 x)))) over N rows */
static void
cme_ffn_forward(rq_model *m, const cmef *p, cmea *a, const float *x, int N,
    int B, float pd, rq_rng *rng)
{
	int d = m->cfg.d, hd = m->cfg.mlp * m->cfg.d;
	size_t n = (size_t)B * N * d;

	rq_linear_forward(a->f1, x, PP(p->w1), PP(p->b1), B * N, d, hd);
	rq_relu_forward(a->rl, a->f1, (size_t)B * N * hd);
	rq_linear_forward(a->o, a->rl, PP(p->w2), PP(p->b2), B * N, hd, d);
	rq_dropout_forward(a->od, a->mk, a->o, n, pd, rng);
	for (size_t i = 0; i < n; i++)
		a->r[i] = x[i] + a->od[i];
	rq_layernorm_forward(a->y, a->mu, a->rs, a->r, PP(p->lg), PP(p->lb),
	    B * N, d, CME_EPS);
}

static void
cme_ffn_backward(rq_model *m, const cmef *p, cmea *a, const float *x, int N,
    int B, const float *dy, float *dx)
{
	int d = m->cfg.d, hd = m->cfg.mlp * m->cfg.d;
	size_t n = (size_t)B * N * d, nh = (size_t)B * N * hd;

	memset(m->cdr, 0, n * sizeof(float));
	rq_layernorm_backward(m->cdr, GG(p->lg), GG(p->lb), dy, a->r,
	    PP(p->lg), a->mu, a->rs, B * N, d);
	for (size_t i = 0; i < n; i++)
		dx[i] += m->cdr[i];
	memset(m->cdo, 0, n * sizeof(float));
	rq_dropout_backward(m->cdo, m->cdr, a->mk, n, m->p_used);
	memset(m->cdh1, 0, nh * sizeof(float));
	rq_linear_backward(m->cdh1, GG(p->w2), GG(p->b2), m->cdo, a->rl,
	    PP(p->w2), B * N, hd, d);
	memset(m->cdh2, 0, nh * sizeof(float));
	rq_relu_backward(m->cdh2, m->cdh1, a->rl, nh);
	rq_linear_backward(dx, GG(p->w1), GG(p->b1), m->cdh2, x, PP(p->w1),
	    B * N, d, hd);
}

/* the input of stream e to CME layer l */
static const float *
cme_in(rq_model *m, int l, int e)
{
	return l == 0 ? m->enc[e].tok : m->cme[l - 1][e].fa.y;
}

/* the RollingQ rotation of stream e at layer l: the last layer's, with
 * mmml-rq (cfg-independent: R is the identity until a rotation) */
static const double *
cme_rot(rq_model *m, int l, int e)
{
	return l == m->ncme - 1 ? m->cR[e] : NULL;
}

static void
cme_forward(rq_model *m, int B, int train, rq_rng *rng)
{
	const rq_model_cfg *c = &m->cfg;
	int d = c->d, K = c->classes;
	float pd = train ? c->drop : 0;

	for (int l = 0; l < m->ncme; l++)
		for (int e = 0; e < 2; e++) {
			cmes *s = &m->cme[l][e];
			int N = m->enc[e].N, No = m->enc[!e].N;
			const float *x = cme_in(m, l, e), *y = cme_in(m, l, !e);
			cme_attn_forward(m, &s->cp, &s->ca, x, N, y, No, B, pd, rng,
			    NULL, NULL);
			cme_attn_forward(m, &s->sp, &s->sa, s->ca.y, N, s->ca.y, N, B,
			    pd, rng, cme_rot(m, l, e), s->qpre);
			cme_ffn_forward(m, &s->fp, &s->fa, s->sa.y, N, B, pd, rng);
		}
	/* the RollingQ query of each stream: the batch mean of row 0 of the
	 * last layer's self-attention Q, after R */
	for (int e = 0; e < 2; e++) {
		const cmea *a = &m->cme[m->ncme - 1][e].sa;
		for (int j = 0; j < d; j++) {
			double t = 0;
			for (int b = 0; b < B; b++)
				t += a->q[(size_t)b * m->enc[e].N * d + j];
			m->cq[e][j] = (float)(t / B);
		}
	}
	for (int b = 0; b < B; b++)
		for (int e = 0; e < 2; e++)
			memcpy(m->hf + ((size_t)b * 2 + e) * d,
			    m->cme[m->ncme - 1][e].fa.y + (size_t)b * m->enc[e].N * d,
			    (size_t)d * sizeof(float));
	rq_linear_forward(m->hz[0], m->hf, PP(m->hdw[0]), PP(m->hdb[0]), B,
	    2 * d, d);
	rq_relu_forward(m->hr[0], m->hz[0], (size_t)B * d);
	rq_linear_forward(m->hz[1], m->hr[0], PP(m->hdw[1]), PP(m->hdb[1]), B,
	    d, d / 2);
	rq_relu_forward(m->hr[1], m->hz[1], (size_t)B * (d / 2));
	rq_linear_forward(m->logits[0], m->hr[1], PP(m->hdw[2]), PP(m->hdb[2]),
	    B, d / 2, K);
}

/* m->dlog holds dL/dlogits; adds dL/dtok into the encoders' dtok */
static void
cme_backward(rq_model *m, int B)
{
	const rq_model_cfg *c = &m->cfg;
	int d = c->d, K = c->classes, h2 = d / 2;

	memset(m->dhr[1], 0, (size_t)B * h2 * sizeof(float));
	rq_linear_backward(m->dhr[1], GG(m->hdw[2]), GG(m->hdb[2]), m->dlog,
	    m->hr[1], PP(m->hdw[2]), B, h2, K);
	memset(m->dhz[1], 0, (size_t)B * h2 * sizeof(float));
	rq_relu_backward(m->dhz[1], m->dhr[1], m->hr[1], (size_t)B * h2);
	memset(m->dhr[0], 0, (size_t)B * d * sizeof(float));
	rq_linear_backward(m->dhr[0], GG(m->hdw[1]), GG(m->hdb[1]), m->dhz[1],
	    m->hr[0], PP(m->hdw[1]), B, d, h2);
	memset(m->dhz[0], 0, (size_t)B * d * sizeof(float));
	rq_relu_backward(m->dhz[0], m->dhr[0], m->hr[0], (size_t)B * d);
	memset(m->dhf, 0, (size_t)2 * B * d * sizeof(float));
	rq_linear_backward(m->dhf, GG(m->hdw[0]), GG(m->hdb[0]), m->dhz[0],
	    m->hf, PP(m->hdw[0]), B, 2 * d, d);
	for (int e = 0; e < 2; e++) {
		int N = m->enc[e].N;
		memset(m->cgo[e], 0, (size_t)B * N * d * sizeof(float));
		for (int b = 0; b < B; b++)
			memcpy(m->cgo[e] + (size_t)b * N * d, m->dhf +
			    ((size_t)b * 2 + e) * d, (size_t)d * sizeof(float));
	}
	for (int l = m->ncme - 1; l >= 0; l--) {
		for (int e = 0; e < 2; e++)
			memset(m->cgi[e], 0, (size_t)B * m->enc[e].N * d *
			    sizeof(float));
		for (int e = 0; e < 2; e++) {
			cmes *s = &m->cme[l][e];
			int N = m->enc[e].N, No = m->enc[!e].N;
			size_t n = (size_t)B * N * d;
			memset(m->cgA, 0, n * sizeof(float));
			cme_ffn_backward(m, &s->fp, &s->fa, s->sa.y, N, B, m->cgo[e],
			    m->cgA);
			memset(m->cgB, 0, n * sizeof(float));
			cme_attn_backward(m, &s->sp, &s->sa, s->ca.y, N, s->ca.y, N, B,
			    m->cgA, m->cgB, m->cgB, cme_rot(m, l, e));
			cme_attn_backward(m, &s->cp, &s->ca, cme_in(m, l, e), N,
			    cme_in(m, l, !e), No, B, m->cgB, m->cgi[e], m->cgi[!e],
			    NULL);
		}
		for (int e = 0; e < 2; e++) {
			float *t = m->cgo[e];
			m->cgo[e] = m->cgi[e];
			m->cgi[e] = t;
		}
	}
	for (int e = 0; e < 2; e++) {
		size_t n = (size_t)B * m->enc[e].N * d;
		for (size_t i = 0; i < n; i++)
			m->enc[e].dtok[i] += m->cgo[e][i];
	}
}

/* out = R x in double (R [d,d] row-major) */
static void
rot_apply(float *out, const double *R, const float *x, int d)
{
	for (int i = 0; i < d; i++) {
		double s = 0;
		for (int j = 0; j < d; j++)
			s += R[(size_t)i * d + j] * x[j];
		out[i] = (float)s;
	}
}

/* out = R^T x; out != x */
static void
rot_apply_t(float *out, const double *R, const float *x, int d)
{
	for (int j = 0; j < d; j++) {
		double s = 0;
		for (int i = 0; i < d; i++)
			s += R[(size_t)i * d + j] * x[i];
		out[j] = (float)s;
	}
}

/* seq = [cls_f ; tok_a ; tok_v] for a layer reading the encoders */
static void
fusion_fill(rq_model *m, fusion *f, int B)
{
	int d = m->cfg.d, Na = m->enc[0].N, Nv = m->enc[1].N, S = f->S;

	for (int b = 0; b < B; b++) {
		float *s = f->seq + (size_t)b * S * d;
		memcpy(s, PP(f->cls), (size_t)d * sizeof(float));
		memcpy(s + d, m->enc[0].tok + (size_t)b * Na * d,
		    (size_t)Na * d * sizeof(float));
		memcpy(s + (size_t)(1 + Na) * d, m->enc[1].tok +
		    (size_t)b * Nv * d, (size_t)Nv * d * sizeof(float));
	}
}

/* dL/dseq of a layer filled by fusion_fill back to cls_f and the tokens */
static void
fusion_scatter(rq_model *m, fusion *f, int B)
{
	int d = m->cfg.d, Na = m->enc[0].N, Nv = m->enc[1].N, S = f->S;

	for (int b = 0; b < B; b++) {
		const float *s = f->dseq + (size_t)b * S * d;
		float *gc = GG(f->cls);
		for (int j = 0; j < d; j++)
			gc[j] += s[j];
		for (size_t i = 0; i < (size_t)Na * d; i++)
			m->enc[0].dtok[(size_t)b * Na * d + i] += s[d + i];
		for (size_t i = 0; i < (size_t)Nv * d; i++)
			m->enc[1].dtok[(size_t)b * Nv * d + i] +=
			    s[(size_t)(1 + Na) * d + i];
	}
}

/* query form over f->seq (filled): y, yd [B,d] */
static void
fusion_q_forward(rq_model *m, fusion *f, int B, float p, rq_rng *rng)
{
	int d = m->cfg.d, S = f->S;

	rq_linear_forward(f->k, f->seq, PP(f->kw), PP(f->kb), B * S, d, d);
	rq_linear_forward(f->v, f->seq, PP(f->vw), PP(f->vb), B * S, d, d);
	rq_linear_forward(f->qpre, PP(f->cls), PP(f->qw), PP(f->qb), 1, d, d);
	rot_apply(f->q, f->R, f->qpre, d);
	if (p > 0)
		for (size_t i = 0; i < (size_t)B * S; i++)
			f->am[i] = rq_rng_uniform(rng) >= p;
	rq_fusion_attn_forward(f->o, f->a, f->ad, f->q, f->k, f->v,
	    p > 0 ? f->am : NULL, p, B, S, d);
	rq_linear_forward(f->y, f->o, PP(f->ow), PP(f->ob), B, d, d);
	rq_dropout_forward(f->yd, f->ym, f->y, (size_t)B * d, p, rng);
}

/* f->dyd [B,d] holds dL/dyd; writes f->dseq, accumulates the weights' */
static void
fusion_q_backward(rq_model *m, fusion *f, int B)
{
	int d = m->cfg.d, S = f->S;
	float p = m->p_used;
	size_t n = (size_t)B * S * d;

	memset(f->dy, 0, (size_t)B * d * sizeof(float));
	rq_dropout_backward(f->dy, f->dyd, f->ym, (size_t)B * d, p);
	memset(f->dob, 0, (size_t)B * d * sizeof(float));
	rq_linear_backward(f->dob, GG(f->ow), GG(f->ob), f->dy, f->o,
	    PP(f->ow), B, d, d);
	memset(f->dq, 0, (size_t)d * sizeof(float));
	memset(f->dk, 0, n * sizeof(float));
	memset(f->dv, 0, n * sizeof(float));
	rq_fusion_attn_backward(f->dq, f->dk, f->dv, f->dob, f->a, f->ad, f->q,
	    f->k, f->v, p > 0 ? f->am : NULL, p, B, S, d);
	/* q = R q_pre: dq_pre = R^T dq */
	rot_apply_t(f->dqpre, f->R, f->dq, d);
	rq_linear_backward(GG(f->cls), GG(f->qw), GG(f->qb), f->dqpre,
	    PP(f->cls), PP(f->qw), 1, d, d);
	memset(f->dseq, 0, n * sizeof(float));
	rq_linear_backward(f->dseq, GG(f->kw), GG(f->kb), f->dk, f->seq,
	    PP(f->kw), B * S, d, d);
	rq_linear_backward(f->dseq, GG(f->vw), GG(f->vb), f->dv, f->seq,
	    PP(f->vw), B * S, d, d);
}

/*
 * Full form over f->seq (filled), per sample (s = 1/sqrt d):
 *   Q = seq Wq^T + bq, Q[0] <- R (Wq cls_f + bq);  K, V likewise
 *   A = softmax_row(s Q K^T)  [S,S];  Ad = A m / (1 - p);  O = Ad V
 *   Y = O Wo^T + bo;  Yd = drop(Y)                        [S,d]
 */
static void
fusion_full_forward(rq_model *m, fusion *f, int B, float p, rq_rng *rng)
{
	int d = m->cfg.d, S = f->S;
	size_t Sd = (size_t)S * d, SS = (size_t)S * S;
	float sc = 1.0f / sqrtf((float)d), keep = p > 0 ? 1.0f / (1 - p) : 1;

	rq_linear_forward(f->q, f->seq, PP(f->qw), PP(f->qb), B * S, d, d);
	rq_linear_forward(f->k, f->seq, PP(f->kw), PP(f->kb), B * S, d, d);
	rq_linear_forward(f->v, f->seq, PP(f->vw), PP(f->vb), B * S, d, d);
	rq_linear_forward(f->qpre, PP(f->cls), PP(f->qw), PP(f->qb), 1, d, d);
	rot_apply(f->q, f->R, f->qpre, d);
	for (int b = 1; b < B; b++)
		memcpy(f->q + (size_t)b * Sd, f->q, (size_t)d * sizeof(float));
	if (p > 0)
		for (size_t i = 0; i < (size_t)B * SS; i++)
			f->am[i] = rq_rng_uniform(rng) >= p;
	for (int b = 0; b < B; b++) {
		float *A = f->a + (size_t)b * SS, *Ad = f->ad + (size_t)b * SS;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, d, sc,
		    f->q + (size_t)b * Sd, d, f->k + (size_t)b * Sd, d, 0.0f, A,
		    S);
		for (int i = 0; i < S; i++) {
			float *r = A + (size_t)i * S, mx = r[0], sum = 0, inv;
			for (int t = 1; t < S; t++)
				mx = r[t] > mx ? r[t] : mx;
			for (int t = 0; t < S; t++)
				sum += r[t] = expf(r[t] - mx);
			inv = 1.0f / sum;
			for (int t = 0; t < S; t++)
				r[t] *= inv;
		}
		if (p > 0) {
			const uint8_t *mk = f->am + (size_t)b * SS;
			for (size_t i = 0; i < SS; i++)
				Ad[i] = mk[i] ? A[i] * keep : 0.0f;
		} else
			memcpy(Ad, A, SS * sizeof(float));
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, d, S,
		    1.0f, Ad, S, f->v + (size_t)b * Sd, d, 0.0f,
		    f->o + (size_t)b * Sd, d);
	}
	rq_linear_forward(f->y, f->o, PP(f->ow), PP(f->ob), B * S, d, d);
	rq_dropout_forward(f->yd, f->ym, f->y, (size_t)B * Sd, p, rng);
}

/*
 * f->dyd [B,S,d] holds dL/dYd.  Per sample, G = dO V^T:
 *   dV += Ad^T dO;  dZ = Ad.G - A.rowsum(Ad.G) (softmax Jacobian, the
 *   mask entering through Ad as in fusion.c);  dQ = s dZ K;
 *   dK += s dZ^T Q;  dQ[0] <- R^T dQ[0] (then through Wq as any row).
 */
static void
fusion_full_backward(rq_model *m, fusion *f, int B)
{
	int d = m->cfg.d, S = f->S;
	size_t Sd = (size_t)S * d, SS = (size_t)S * S, n = (size_t)B * Sd;
	float p = m->p_used, sc = 1.0f / sqrtf((float)d);

	memset(f->dy, 0, n * sizeof(float));
	rq_dropout_backward(f->dy, f->dyd, f->ym, n, p);
	memset(f->dob, 0, n * sizeof(float));
	rq_linear_backward(f->dob, GG(f->ow), GG(f->ob), f->dy, f->o,
	    PP(f->ow), B * S, d, d);
	memset(f->dk, 0, n * sizeof(float));
	memset(f->dv, 0, n * sizeof(float));
	for (int b = 0; b < B; b++) {
		const float *A = f->a + (size_t)b * SS, *Ad = f->ad + (size_t)b * SS;
		const float *dO = f->dob + (size_t)b * Sd;
		float *G = f->dsc;
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, d, S,
		    1.0f, Ad, S, dO, d, 1.0f, f->dv + (size_t)b * Sd, d);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, d,
		    1.0f, dO, d, f->v + (size_t)b * Sd, d, 0.0f, G, S);
		for (int i = 0; i < S; i++) {
			float *g = G + (size_t)i * S;
			const float *ar = A + (size_t)i * S, *adr = Ad + (size_t)i * S;
			double t = 0;
			for (int j = 0; j < S; j++)
				t += (double)adr[j] * g[j];
			for (int j = 0; j < S; j++)
				g[j] = sc * (adr[j] * g[j] - ar[j] * (float)t);
		}
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, d, S,
		    1.0f, G, S, f->k + (size_t)b * Sd, d, 0.0f,
		    f->dq + (size_t)b * Sd, d);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, d, S,
		    1.0f, G, S, f->q + (size_t)b * Sd, d, 1.0f,
		    f->dk + (size_t)b * Sd, d);
		rot_apply_t(f->dqpre, f->R, f->dq + (size_t)b * Sd, d);
		memcpy(f->dq + (size_t)b * Sd, f->dqpre, (size_t)d * sizeof(float));
	}
	memset(f->dseq, 0, n * sizeof(float));
	rq_linear_backward(f->dseq, GG(f->qw), GG(f->qb), f->dq, f->seq,
	    PP(f->qw), B * S, d, d);
	rq_linear_backward(f->dseq, GG(f->kw), GG(f->kb), f->dk, f->seq,
	    PP(f->kw), B * S, d, d);
	rq_linear_backward(f->dseq, GG(f->vw), GG(f->vb), f->dv, f->seq,
	    PP(f->vw), B * S, d, d);
}

static void
fusion_forward(rq_model *m, int B, int train, rq_rng *rng)
{
	const rq_model_cfg *c = &m->cfg;
	fusion *f0 = &m->fu[0], *f1 = &m->fu[1], *last = &m->fu[m->nfu - 1];
	int d = c->d;
	float p = train ? c->drop : 0;

	fusion_fill(m, f0, B);
	if (m->nfu == 1)
		fusion_q_forward(m, f0, B, p, rng);
	else {
		size_t Sd = (size_t)f0->S * d;
		fusion_full_forward(m, f0, B, p, rng);
		for (int b = 0; b < B; b++) {
			float *s = f1->seq + (size_t)b * f1->S * d;
			memcpy(s, PP(f1->cls), (size_t)d * sizeof(float));
			memcpy(s + d, f0->yd + (size_t)b * Sd, Sd * sizeof(float));
		}
		fusion_q_forward(m, f1, B, p, rng);
	}
	rq_linear_forward(m->logits[0], last->yd, PP(m->hw), PP(m->hb), B, d,
	    c->classes);
}

static void
fusion_backward(rq_model *m, int B)
{
	const rq_model_cfg *c = &m->cfg;
	fusion *f0 = &m->fu[0], *f1 = &m->fu[1], *last = &m->fu[m->nfu - 1];
	int d = c->d;

	memset(last->dyd, 0, (size_t)B * d * sizeof(float));
	rq_linear_backward(last->dyd, GG(m->hw), GG(m->hb), m->dlog, last->yd,
	    PP(m->hw), B, d, c->classes);
	if (m->nfu == 2) {
		size_t Sd = (size_t)f0->S * d;
		fusion_q_backward(m, f1, B);
		for (int b = 0; b < B; b++) {
			const float *s = f1->dseq + (size_t)b * f1->S * d;
			float *gc = GG(f1->cls);
			for (int j = 0; j < d; j++)
				gc[j] += s[j];
			memcpy(f0->dyd + (size_t)b * Sd, s + d, Sd * sizeof(float));
		}
		fusion_full_backward(m, f0, B);
	} else
		fusion_q_backward(m, f0, B);
	fusion_scatter(m, f0, B);
}

/* JMT: MT's layer (fu[0]), then layer 2 over [y1d ; cls_a ; cls_v] */
static void
jmt_forward(rq_model *m, int B, int train, rq_rng *rng)
{
	const rq_model_cfg *c = &m->cfg;
	fusion *f0 = &m->fu[0];
	jmtl *j = &m->jm;
	int d = c->d;
	size_t dd = (size_t)d * sizeof(float);
	float p = train ? c->drop : 0;

	fusion_fill(m, f0, B);
	fusion_q_forward(m, f0, B, p, rng);
	for (int b = 0; b < B; b++) {
		float *s = j->seq + (size_t)b * 3 * d;
		memcpy(s, f0->yd + (size_t)b * d, dd);
		memcpy(s + d, m->enc[0].clsout + (size_t)b * d, dd);
		memcpy(s + 2 * d, m->enc[1].clsout + (size_t)b * d, dd);
	}
	rq_linear_forward(j->q, f0->yd, PP(j->qw), PP(j->qb), B, d, d);
	rq_linear_forward(j->k, j->seq, PP(j->kw), PP(j->kb), 3 * B, d, d);
	rq_linear_forward(j->v, j->seq, PP(j->vw), PP(j->vb), 3 * B, d, d);
	if (p > 0)
		for (size_t i = 0; i < (size_t)3 * B; i++)
			j->am[i] = rq_rng_uniform(rng) >= p;
	rq_jmt_attn_forward(j->o, j->a, j->ad, j->q, j->k, j->v,
	    p > 0 ? j->am : NULL, p, B, 3, d);
	rq_linear_forward(j->y, j->o, PP(j->ow), PP(j->ob), B, d, d);
	rq_dropout_forward(j->yd, j->ym, j->y, (size_t)B * d, p, rng);
	rq_linear_forward(m->logits[0], j->yd, PP(m->hw), PP(m->hb), B, d,
	    c->classes);
}

static void
jmt_backward(rq_model *m, int B)
{
	const rq_model_cfg *c = &m->cfg;
	fusion *f0 = &m->fu[0];
	jmtl *j = &m->jm;
	int d = c->d;
	size_t n = (size_t)B * d, n3 = 3 * n;
	float p = m->p_used;

	memset(j->dyd, 0, n * sizeof(float));
	rq_linear_backward(j->dyd, GG(m->hw), GG(m->hb), m->dlog, j->yd,
	    PP(m->hw), B, d, c->classes);
	memset(j->dy, 0, n * sizeof(float));
	rq_dropout_backward(j->dy, j->dyd, j->ym, n, p);
	memset(j->dob, 0, n * sizeof(float));
	rq_linear_backward(j->dob, GG(j->ow), GG(j->ob), j->dy, j->o,
	    PP(j->ow), B, d, d);
	memset(j->dq, 0, n * sizeof(float));
	memset(j->dk, 0, n3 * sizeof(float));
	memset(j->dv, 0, n3 * sizeof(float));
	rq_jmt_attn_backward(j->dq, j->dk, j->dv, j->dob, j->a, j->ad, j->q,
	    j->k, j->v, B, 3, d);
	memset(j->dseq, 0, n3 * sizeof(float));
	rq_linear_backward(j->dseq, GG(j->kw), GG(j->kb), j->dk, j->seq,
	    PP(j->kw), 3 * B, d, d);
	rq_linear_backward(j->dseq, GG(j->vw), GG(j->vb), j->dv, j->seq,
	    PP(j->vw), 3 * B, d, d);
	memset(j->dy1, 0, n * sizeof(float));
	rq_linear_backward(j->dy1, GG(j->qw), GG(j->qb), j->dq, f0->yd,
	    PP(j->qw), B, d, d);
	/* y1d feeds the query and token 0; cls_a, cls_v tokens 1, 2 */
	for (int b = 0; b < B; b++) {
		const float *s = j->dseq + (size_t)b * 3 * d;
		float *g1 = f0->dyd + (size_t)b * d;
		float *ga = m->enc[0].dtok + (size_t)b * m->enc[0].N * d;
		float *gv = m->enc[1].dtok + (size_t)b * m->enc[1].N * d;
		for (int i = 0; i < d; i++) {
			g1[i] = j->dy1[(size_t)b * d + i] + s[i];
			ga[i] += s[d + i];
			gv[i] += s[2 * d + i];
		}
	}
	fusion_q_backward(m, f0, B);
	fusion_scatter(m, f0, B);
}

#define MUT_EPS 1e-5f	/* MulT's LayerNorm after the crossmodal layers */

/* MuT (the top comment): both directions, the fusion query, the read-out */
static void
mut_forward(rq_model *m, int B, int train, rq_rng *rng)
{
	const rq_model_cfg *c = &m->cfg;
	fusion *f = &m->fu[0];
	int d = c->d, K = c->classes, S = f->S, d3 = 3 * c->d, off = 1;
	size_t dd = (size_t)d * sizeof(float);

	/* direction e: its memory into the fusion's sequence [cls_f ; mem_a ;
	 * mem_v] at row off, its last row into h's part e */
	for (int e = 0; e < 2; e++) {
		mutd *t = &m->mt[e];
		int N = m->enc[e].N;
		for (int l = 0; l < m->nmut; l++) {
			rq_xmod *a = &t->xa[l];
			a->B = B;
			rq_xmod_forward(a, t->x[l + 1], t->x[l], m->enc[!e].tok,
			    PP(t->xp[l]));
		}
		rq_layernorm_forward(t->cf, t->cmu, t->crs, t->x[m->nmut],
		    PP(t->lng), PP(t->lnb), B * N, d, MUT_EPS);
		for (int j = 0; j < m->nmem; j++)
			blk_forward(m, &t->bp[j], &t->ba[j], t->mx[j], t->mx[j + 1],
			    B, N, c->heads);
		rq_layernorm_forward(t->mem, t->mmu, t->mrs, t->mx[m->nmem],
		    PP(t->mlng), PP(t->mlnb), B * N, d, LN_EPS);
		for (int b = 0; b < B; b++) {
			const float *mb = t->mem + (size_t)b * N * d;
			memcpy(f->seq + ((size_t)b * S + off) * d, mb, N * dd);
			memcpy(m->mh + (size_t)b * d3 + (size_t)e * d, mb +
			    (size_t)(N - 1) * d, dd);
		}
		off += N;
	}
	for (int b = 0; b < B; b++)
		memcpy(f->seq + (size_t)b * S * d, PP(f->cls), dd);
	fusion_q_forward(m, f, B, train ? c->drop : 0, rng);
	for (int b = 0; b < B; b++)
		memcpy(m->mh + (size_t)b * d3 + 2 * d, f->yd + (size_t)b * d, dd);
	rq_linear_forward(m->mz, m->mh, PP(m->mrw[0]), PP(m->mrb[0]), B, d3,
	    d3);
	rq_relu_forward(m->mr, m->mz, (size_t)B * d3);
	rq_linear_forward(m->mh2, m->mr, PP(m->mrw[1]), PP(m->mrb[1]), B, d3,
	    d3);
	for (size_t i = 0; i < (size_t)B * d3; i++)
		m->mh2[i] += m->mh[i];
	rq_linear_forward(m->logits[0], m->mh2, PP(m->mrw[2]), PP(m->mrb[2]),
	    B, d3, K);
}

/* m->dlog holds dL/dlogits; adds dL/dtok into both encoders' dtok */
static void
mut_backward(rq_model *m, int B)
{
	const rq_model_cfg *c = &m->cfg;
	fusion *f = &m->fu[0];
	int d = c->d, K = c->classes, S = f->S, d3 = 3 * c->d, off = 1;
	size_t n3 = (size_t)B * d3;
	float *gc = GG(f->cls);

	rq_linear_backward_set(m->dmh2, GG(m->mrw[2]), GG(m->mrb[2]), m->dlog,
	    m->mh2, PP(m->mrw[2]), B, d3, K);
	rq_linear_backward_set(m->dmr, GG(m->mrw[1]), GG(m->mrb[1]), m->dmh2,
	    m->mr, PP(m->mrw[1]), B, d3, d3);
	memset(m->dmz, 0, n3 * sizeof(float));
	rq_relu_backward(m->dmz, m->dmr, m->mr, n3);
	memcpy(m->dmh, m->dmh2, n3 * sizeof(float));
	rq_linear_backward(m->dmh, GG(m->mrw[0]), GG(m->mrb[0]), m->dmz, m->mh,
	    PP(m->mrw[0]), B, d3, d3);
	for (int b = 0; b < B; b++)
		memcpy(f->dyd + (size_t)b * d, m->dmh + (size_t)b * d3 + 2 * d,
		    (size_t)d * sizeof(float));
	fusion_q_backward(m, f, B);
	for (int b = 0; b < B; b++)
		for (int j = 0; j < d; j++)
			gc[j] += f->dseq[(size_t)b * S * d + j];
	/* direction e: dL/dmem from the sequence's rows off.. and h's part e */
	for (int e = 0; e < 2; e++) {
		mutd *t = &m->mt[e];
		int N = m->enc[e].N, BN = B * N;
		size_t nd = (size_t)BN * d;
		float *gx = m->mg[0], *gy = m->mg[1];
		for (int b = 0; b < B; b++) {
			float *g = t->dmem + (size_t)b * N * d;
			const float *h = m->dmh + (size_t)b * d3 + (size_t)e * d;
			memcpy(g, f->dseq + ((size_t)b * S + off) * d, (size_t)N *
			    d * sizeof(float));
			for (int j = 0; j < d; j++)
				g[(size_t)(N - 1) * d + j] += h[j];
		}
		off += N;
		memset(m->dres, 0, nd * sizeof(float));
		rq_layernorm_backward(m->dres, GG(t->mlng), GG(t->mlnb), t->dmem,
		    t->mx[m->nmem], PP(t->mlng), t->mmu, t->mrs, BN, d);
		for (int j = m->nmem - 1; j >= 0; j--)
			blk_backward(m, &t->bp[j], &t->ba[j], t->mx[j], B, N,
			    c->heads);
		memset(gx, 0, nd * sizeof(float));
		rq_layernorm_backward(gx, GG(t->lng), GG(t->lnb), m->dres,
		    t->x[m->nmut], PP(t->lng), t->cmu, t->crs, BN, d);
		for (int l = m->nmut - 1; l >= 0; l--) {
			float *dx = l == 0 ? m->enc[e].dtok : gy;
			if (l > 0)
				memset(gy, 0, nd * sizeof(float));
			rq_xmod_backward(&t->xa[l], dx, m->enc[!e].dtok, m->grads +
			    t->xp[l], gx, t->x[l], m->enc[!e].tok, PP(t->xp[l]),
			    m->mscr);
			{ float *tmp = gx; gx = gy; gy = tmp; }
		}
	}
}

/* the extra CLS feature gradients into the encoders' token gradients */
static void
feature_grad_add(rq_model *m, int B)
{
	int d = m->cfg.d;

	for (int e = 0; e < 2; e++) {
		encoder *en = &m->enc[e];
		float *x = m->xg + (size_t)e * m->cfg.batch * d;
		if (!en->on)
			continue;
		for (int b = 0; b < B; b++)
			for (int i = 0; i < d; i++)
				en->dtok[(size_t)b * en->N * d + i] +=
				    x[(size_t)b * d + i];
	}
	memset(m->xg, 0, (size_t)2 * m->cfg.batch * d * sizeof(float));
	m->has_xg = 0;
}

const float *
rq_model_embedding(const rq_model *m, int e, int *N)
{
	if (e < 0 || e > 1 || !m->enc[e].on)
		return NULL;
	*N = m->enc[e].N;
	return m->enc[e].x[0];
}

const float *
rq_model_feature(const rq_model *m, int e)
{
	return e >= 0 && e < 2 && m->enc[e].on ? m->enc[e].clsout : NULL;
}

float *
rq_model_feature_grad(rq_model *m, int e)
{
	if (e < 0 || e > 1 || !m->enc[e].on)
		return NULL;
	m->has_xg = 1;
	return m->xg + (size_t)e * m->cfg.batch * m->cfg.d;
}

/* QK^T and AV per sample: d N^2 each per encoder block (all heads),
 * S d each for a query layer, S^2 d for a full one, 3 d for JMT's 2nd */
double
rq_model_attn_macs(const rq_model *m)
{
	double d = m->cfg.d, f = 0;

	for (int e = 0; e < 2; e++)
		if (m->enc[e].on)
			f += m->cfg.depth * 2.0 * m->enc[e].N * m->enc[e].N * d;
	for (int l = 0; l < m->nfu; l++) {
		double S = m->fu[l].S;
		f += 2.0 * (m->fu[l].full ? S * S : S) * d;
	}
	if (m->jm.on)
		f += 2.0 * 3 * d;
	/* MBT: each bottleneck block attends over [bottlenecks ; tokens] */
	for (int l = 0; l < m->nmbt; l++)
		for (int e = 0; e < 2; e++) {
			double n = m->nbt + m->enc[e].N;
			f += 2.0 * n * n * d;
		}
	/* MMML: per layer and stream, cross (own x other) and self */
	for (int l = 0; l < m->ncme; l++)
		for (int e = 0; e < 2; e++) {
			double Ns = m->enc[e].N, No = m->enc[1 - e].N;
			f += 2.0 * Ns * No * d + 2.0 * Ns * Ns * d;
		}
	/* MuT: per direction, each crossmodal layer (target x source) and
	 * each memory block (target x target) */
	for (int e = 0; e < 2 && m->nmut > 0; e++) {
		double Ns = m->enc[e].N, No = m->enc[1 - e].N;
		f += m->nmut * 2.0 * Ns * No * d + m->nmem * 2.0 * Ns * Ns * d;
	}
	return f;
}

double
rq_model_forward(rq_model *m, const float *a, const float *v,
    const int32_t *y, int B, int train, rq_rng *rng)
{
	const rq_model_cfg *c = &m->cfg;
	int d = c->d, K = c->classes;
	double loss = 0;

	m->B_used = B;
	m->p_used = train ? c->drop : 0;
	if (m->enc[0].on)
		encoder_forward(m, 0, a, B);
	if (m->enc[1].on)
		encoder_forward(m, 1, v, B);
	if (m->nmbt > 0)
		mbt_forward(m, B);
	switch (c->method) {
	case RQ_METHOD_AUDIO:
	case RQ_METHOD_VISUAL:
		rq_linear_forward(m->logits[0], m->enc[c->method ==
		    RQ_METHOD_VISUAL].clsout, PP(m->hw), PP(m->hb), B, d, K);
		break;
	case RQ_METHOD_CONCAT:
	case RQ_METHOD_MBT:
		for (int b = 0; b < B; b++) {
			memcpy(m->feat + (size_t)b * 2 * d, m->enc[0].clsout +
			    (size_t)b * d, (size_t)d * sizeof(float));
			memcpy(m->feat + (size_t)b * 2 * d + d, m->enc[1].clsout +
			    (size_t)b * d, (size_t)d * sizeof(float));
		}
		rq_linear_forward(m->logits[0], m->feat, PP(m->hw), PP(m->hb), B,
		    2 * d, K);
		break;
	case RQ_METHOD_SUM:
		rq_linear_forward(m->logits[0], m->enc[0].clsout, PP(m->haw),
		    PP(m->hab), B, d, K);
		rq_linear_forward(m->feat, m->enc[1].clsout, PP(m->hvw),
		    PP(m->hvb), B, d, K);
		for (size_t i = 0; i < (size_t)B * K; i++)
			m->logits[0][i] += m->feat[i];
		break;
	case RQ_METHOD_MT:
	case RQ_METHOD_MTSTAR:
		fusion_forward(m, B, train, rng);
		break;
	case RQ_METHOD_JMT:
		jmt_forward(m, B, train, rng);
		break;
	case RQ_METHOD_MMML:
		cme_forward(m, B, train, rng);
		break;
	case RQ_METHOD_MUT:
		mut_forward(m, B, train, rng);
		break;
	}
	if (m->has_probe) {
		rq_linear_forward(m->logits[1], m->enc[0].clsout, PP(m->paw),
		    PP(m->pab), B, d, K);
		rq_linear_forward(m->logits[2], m->enc[1].clsout, PP(m->pvw),
		    PP(m->pvb), B, d, K);
	}
	for (int h = 0; h < 3; h++) {
		m->loss[h] = 0;
		if (h > 0 && !m->has_probe)
			break;
		if (y != NULL) {
			m->loss[h] = rq_xent_forward(m->probs[h], m->logits[h], y, B,
			    K);
			loss += m->loss[h];
		} else {
			/* softmax only: a dummy label 0 */
			for (int b = 0; b < B; b++) {
				const float *l = m->logits[h] + (size_t)b * K;
				float *pr = m->probs[h] + (size_t)b * K;
				double mx = l[0], s = 0;
				for (int k = 1; k < K; k++)
					mx = l[k] > mx ? l[k] : mx;
				for (int k = 0; k < K; k++)
					s += pr[k] = (float)exp(l[k] - mx);
				for (int k = 0; k < K; k++)
					pr[k] = (float)(pr[k] / s);
			}
		}
	}
	return loss;
}

void
rq_model_backward(rq_model *m, const int32_t *y, int B)
{
	rq_model_backward_part(m, y, B, B);
}

/*
 * The gradient of (sum of the B samples' losses) / Btot, added to the
 * gradients: a batch of Btot samples run as parts of at most cfg.batch
 * (gradient accumulation, or one rank's share of a global batch) sums to
 * the gradient of the mean over the whole batch.
 */
void
rq_model_backward_part(rq_model *m, const int32_t *y, int B, int Btot)
{
	const rq_model_cfg *c = &m->cfg;
	int d = c->d, K = c->classes;
	float sc = 1.0f / (float)Btot;

	for (int e = 0; e < 2; e++)
		if (m->enc[e].on)
			memset(m->enc[e].dtok, 0, (size_t)B * m->enc[e].N * d *
			    sizeof(float));
	if (m->has_probe) {
		memset(m->dlog, 0, (size_t)B * K * sizeof(float));
		rq_xent_backward(m->dlog, m->probs[1], y, B, K, sc);
		rq_linear_backward(NULL, GG(m->paw), GG(m->pab), m->dlog,
		    m->enc[0].clsout, PP(m->paw), B, d, K);
		memset(m->dlog, 0, (size_t)B * K * sizeof(float));
		rq_xent_backward(m->dlog, m->probs[2], y, B, K, sc);
		rq_linear_backward(NULL, GG(m->pvw), GG(m->pvb), m->dlog,
		    m->enc[1].clsout, PP(m->pvw), B, d, K);
	}
	memset(m->dlog, 0, (size_t)B * K * sizeof(float));
	rq_xent_backward(m->dlog, m->probs[0], y, B, K, sc);
	memset(m->dfeat, 0, (size_t)2 * B * d * sizeof(float));
	switch (c->method) {
	case RQ_METHOD_AUDIO:
	case RQ_METHOD_VISUAL: {
		int e = c->method == RQ_METHOD_VISUAL;
		rq_linear_backward(m->dfeat, GG(m->hw), GG(m->hb), m->dlog,
		    m->enc[e].clsout, PP(m->hw), B, d, K);
		for (int b = 0; b < B; b++)
			for (int j = 0; j < d; j++)
				m->enc[e].dtok[(size_t)b * m->enc[e].N * d + j] +=
				    m->dfeat[(size_t)b * d + j];
		break;
	}
	case RQ_METHOD_CONCAT:
	case RQ_METHOD_MBT:
		rq_linear_backward(m->dfeat, GG(m->hw), GG(m->hb), m->dlog,
		    m->feat, PP(m->hw), B, 2 * d, K);
		for (int b = 0; b < B; b++)
			for (int j = 0; j < d; j++) {
				m->enc[0].dtok[(size_t)b * m->enc[0].N * d + j] +=
				    m->dfeat[(size_t)b * 2 * d + j];
				m->enc[1].dtok[(size_t)b * m->enc[1].N * d + j] +=
				    m->dfeat[(size_t)b * 2 * d + d + j];
			}
		break;
	case RQ_METHOD_SUM:
		rq_linear_backward(m->dfeat, GG(m->haw), GG(m->hab), m->dlog,
		    m->enc[0].clsout, PP(m->haw), B, d, K);
		rq_linear_backward(m->dfeat + (size_t)B * d, GG(m->hvw),
		    GG(m->hvb), m->dlog, m->enc[1].clsout, PP(m->hvw), B, d, K);
		for (int b = 0; b < B; b++)
			for (int j = 0; j < d; j++) {
				m->enc[0].dtok[(size_t)b * m->enc[0].N * d + j] +=
				    m->dfeat[(size_t)b * d + j];
				m->enc[1].dtok[(size_t)b * m->enc[1].N * d + j] +=
				    m->dfeat[(size_t)(B + b) * d + j];
			}
		break;
	case RQ_METHOD_MT:
	case RQ_METHOD_MTSTAR:
		fusion_backward(m, B);
		break;
	case RQ_METHOD_JMT:
		jmt_backward(m, B);
		break;
	case RQ_METHOD_MMML:
		cme_backward(m, B);
		break;
	case RQ_METHOD_MUT:
		mut_backward(m, B);
		break;
	}
	if (m->has_xg)
		feature_grad_add(m, B);
	if (m->nmbt > 0)
		mbt_backward(m, B);
	for (int e = 0; e < 2; e++)
		if (m->enc[e].on)
			encoder_backward(m, e, B);
}

const float *
rq_model_probs(const rq_model *m, int which)
{
	if (which < 0 || which > 2 || (which > 0 && !m->has_probe))
		return NULL;
	return m->probs[which];
}

const float *
rq_model_logits(const rq_model *m, int which)
{
	if (which < 0 || which > 2 || (which > 0 && !m->has_probe))
		return NULL;
	return m->logits[which];
}

double
rq_model_head_loss(const rq_model *m, int which)
{
	return which >= 0 && which < 3 ? m->loss[which] : 0;
}

/* the cls_f query of a layer after R (full form: row 0 of sample 0,
 * the same for every sample) */
const float *
rq_model_query(const rq_model *m, int layer)
{
	if (m->ncme > 0)
		return layer == 0 || layer == 1 ? m->cq[layer] : NULL;
	return layer >= 0 && layer < m->nfu ? m->fu[layer].q : NULL;
}

/*
 * MMML site e (stream e's self-attention in the last CME layer): the
 * audio and visual key means seen through that attention's key map,
 * ka = Wk mean_t h1_a[t] + bk, kv = Wk mean_t h1_v[t] + bk, where h1_s is
 * stream s's cross-attention output (stream e's own keys are one of the
 * two; the other is the other stream's, had it been in the key set).
 */
static void
cme_kmeans(const rq_model *m, int e, int B, float *ka, float *kv)
{
	int d = m->cfg.d, L = m->ncme - 1;
	const cmep *p;
	const float *w, *bk;
	float *hm[2] = { m->ckm, m->ckm + d };

	if (e < 0 || e > 1)
		return;
	p = &m->cme[L][e].sp;
	w = m->params + p->kw;
	bk = m->params + p->kb;
	for (int b = 0; b < B; b++) {
		for (int s = 0; s < 2; s++) {
			int N = m->enc[s].N;
			const float *h = m->cme[L][s].ca.y + (size_t)b * N * d;
			for (int j = 0; j < d; j++) {
				double t = 0;
				for (int i = 0; i < N; i++)
					t += h[(size_t)i * d + j];
				hm[s][j] = (float)(t / N);
			}
		}
		for (int i = 0; i < d; i++) {
			double x = bk[i], y = bk[i];
			for (int j = 0; j < d; j++) {
				x += (double)w[(size_t)i * d + j] * hm[0][j];
				y += (double)w[(size_t)i * d + j] * hm[1][j];
			}
			ka[(size_t)b * d + i] = (float)x;
			kv[(size_t)b * d + i] = (float)y;
		}
	}
}

/* mean key over the layer's audio and its visual token positions */
void
rq_model_kmeans(const rq_model *m, int layer, int B, float *ka, float *kv)
{
	int d = m->cfg.d, Na = m->enc[0].N, Nv = m->enc[1].N;
	const fusion *f;

	if (m->ncme > 0) {
		cme_kmeans(m, layer, B, ka, kv);
		return;
	}
	if (layer < 0 || layer >= m->nfu)
		return;
	f = &m->fu[layer];
	for (int b = 0; b < B; b++) {
		const float *k = f->k + ((size_t)b * f->S + f->aoff) * d;
		for (int j = 0; j < d; j++) {
			double sa = 0, sv = 0;
			for (int t = 0; t < Na; t++)
				sa += k[(size_t)t * d + j];
			for (int t = Na; t < Na + Nv; t++)
				sv += k[(size_t)t * d + j];
			ka[(size_t)b * d + j] = (float)(sa / Na);
			kv[(size_t)b * d + j] = (float)(sv / Nv);
		}
	}
}

/* the cls_f row of layer 1 (MT: the only layer) over its tokens */
void
rq_model_shares(const rq_model *m, int B, float *sa, float *sv, float *sc)
{
	int Na = m->enc[0].N, S;
	size_t stride;

	if (m->ncme > 0) {
		/* no MMML query has keys from both streams: no shares */
		for (int b = 0; b < B; b++)
			sa[b] = sv[b] = sc[b] = NAN;
		return;
	}
	if (m->nfu == 0)
		return;
	S = m->fu[0].S;
	stride = m->fu[0].full ? (size_t)S * S : (size_t)S;
	for (int b = 0; b < B; b++) {
		const float *a = m->fu[0].a + (size_t)b * stride;
		double x = 0, y = 0;
		for (int t = 1; t <= Na; t++)
			x += a[t];
		for (int t = 1 + Na; t < S; t++)
			y += a[t];
		sa[b] = (float)x;
		sv[b] = (float)y;
		sc[b] = a[0];
	}
}

void
rq_model_modality_logits(const rq_model *m, int B, float *la, float *lv)
{
	int d = m->cfg.d, K = m->cfg.classes;

	if (m->cfg.method == RQ_METHOD_CONCAT) {
		const float *w = PP(m->hw), *bb = PP(m->hb);
		for (int b = 0; b < B; b++)
			for (int k = 0; k < K; k++) {
				double x = bb[k] / 2, y = bb[k] / 2;
				for (int j = 0; j < d; j++) {
					x += (double)w[(size_t)k * 2 * d + j] *
					    m->enc[0].clsout[(size_t)b * d + j];
					y += (double)w[(size_t)k * 2 * d + d + j] *
					    m->enc[1].clsout[(size_t)b * d + j];
				}
				la[(size_t)b * K + k] = (float)x;
				lv[(size_t)b * K + k] = (float)y;
			}
	} else if (m->cfg.method == RQ_METHOD_SUM) {
		rq_linear_forward(la, m->enc[0].clsout, PP(m->haw), PP(m->hab), B,
		    d, K);
		rq_linear_forward(lv, m->enc[1].clsout, PP(m->hvw), PP(m->hvb), B,
		    d, K);
	}
}

void
rq_model_scale_encoder_grad(rq_model *m, int e, float coef, int ge,
    rq_rng *rng)
{
	const char *pre = e == 0 ? "enc.a." : "enc.v.";

	for (int i = 0; i < m->ntab; i++) {
		const rq_param *p = &m->tab[i];
		float *g = m->grads + p->off;
		double s = 0, s2 = 0, sd;
		if (strncmp(p->name, pre, 6) != 0)
			continue;
		if (ge) {
			for (size_t j = 0; j < p->n; j++) {
				s += g[j];
				s2 += (double)g[j] * g[j];
			}
			sd = p->n > 1 ? sqrt(RQ_MAX(0.0, (s2 - s * s / p->n) /
			    (double)(p->n - 1))) : 0;
			sd += 1e-8;
		}
		for (size_t j = 0; j < p->n; j++) {
			g[j] *= coef;
			if (ge)
				g[j] += (float)(sd * rq_rng_normal(rng));
		}
	}
}
