/*
 * rq-eval: apply a checkpoint to a data set stream (eval mode: no
 * dropout): predictions, class probabilities, accuracy, macro-F1 and, for
 * MT, the fusion attention shares and the query and key means of rq-air.
 */
#include <err.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "rq.h"

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: rq-eval [-t] [--summary] [-b batch] [-j threads] "
	    "[-o file]\n"
	    "               [--modalities A,B] ckpt data\n");
	if (status == 0)
		fprintf(f,
		    "  -t              TSV instead of a stream: id, label, pred, "
		    "shares, probs\n"
		    "  --summary       only the summary line, on stdout\n"
		    "  -b batch        batch size (64); the results do not change\n"
		    "  -j threads      BLAS threads (1)\n"
		    "  -o file         write the stream to file, atomically "
		    "(stdout)\n"
		    "  --modalities A,B  read these records for the checkpoint's "
		    "two modalities\n"
		    "  -h, --help      print this help\n"
		    "  --version       print the version\n");
	exit(status);
}

enum { OPT_VERSION = 256, OPT_SUMMARY, OPT_MODALITIES };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"summary", no_argument, NULL, OPT_SUMMARY},
	{"modalities", required_argument, NULL, OPT_MODALITIES},
	{NULL, 0, NULL, 0}
};

/* --modalities A,B into mod */
static void
modalities(const char *s, char (*mod)[RQ_MODNAME_MAX])
{
	const char *c = strchr(s, ',');

	if (c == NULL || (size_t)(c - s) >= RQ_MODNAME_MAX ||
	    strlen(c + 1) >= RQ_MODNAME_MAX)
		errx(2, "--modalities: need two names A,B: %s", s);
	snprintf(mod[0], RQ_MODNAME_MAX, "%.*s", (int)(c - s), s);
	snprintf(mod[1], RQ_MODNAME_MAX, "%s", c + 1);
	if (!rq_modality_name_ok(mod[0]) || !rq_modality_name_ok(mod[1]) ||
	    strcmp(mod[0], mod[1]) == 0)
		errx(2, "--modalities: need two different names of A-Z a-z "
		    "0-9 _ -, not label or id: %s", s);
}

static void
emit(rq_stream *s, rq_tensor *t, const char *name, int dtype, int ndim,
    uint64_t d0, uint64_t d1, const void *data, double acc, double f1)
{
	uint64_t dims[2] = {d0, d1};

	rq_meta_clear(t);
	if (rq_tensor_alloc(t, dtype, ndim, dims) != RQ_OK ||
	    rq_tensor_set_name(t, name) != RQ_OK)
		errx(1, "out of memory");
	memcpy(t->data, data, t->nbytes);
	rq_meta_set(t, "acc", "%.6f", acc);
	rq_meta_set(t, "macro_f1", "%.6f", f1);
	if (rq_tensor_write(s, t) != RQ_OK) {
		warnx("%s", rq_stream_error(s));
		rq_stream_abort(s);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	rq_model_cfg cfg;
	rq_model *m;
	rq_ckpt *ck;
	rq_dataset ds;
	rq_stream *s = NULL;
	rq_tensor t;
	char errbuf[512];
	const char *out = NULL, *mods = NULL;
	char mod[2][RQ_MODNAME_MAX], col[3][RQ_MODNAME_MAX + 8];
	int c, B = 64, threads = 1, tsv = 0, sumout = 0, K, d, mt, nfl;
	long v;
	int32_t *pred, *y;
	float *probs, *sh, *ka, *kv, *a, *vis, q[2][65536];
	int64_t *idx;
	double acc, f1 = 0, *tp, *fp, *fn;
	size_t n, correct = 0;

	rq_cli_init(argc, argv);
	while ((c = getopt_long(argc, argv, "hstb:j:o:", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'h': usage(0); break;
		case OPT_VERSION:
			printf("rq-eval %s\n", rq_cli_version());
			exit(0);
		case 's':
			/* the last release's spelling, kept for one more */
			warnx("-s is deprecated; use --summary");
			/* FALLTHROUGH */
		case OPT_SUMMARY: sumout = 1; break;
		case 't': tsv = 1; break;
		case 'b':
			if (rq_parse_long(optarg, 1, 1 << 20, &v) != 0)
				errx(2, "-b: bad batch size: %s", optarg);
			B = (int)v;
			break;
		case 'j':
			if (rq_parse_long(optarg, 1, 256, &v) != 0)
				errx(2, "-j: bad thread count: %s", optarg);
			threads = (int)v;
			break;
		case 'o': out = optarg; break;
		case OPT_MODALITIES: mods = optarg; break;
		default: usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2) {
		warnx("missing operand: %s", argc == 0 ? "ckpt" : "data");
		usage(2);
	}
	if (argc > 2) {
		warnx("unexpected operand: %s", argv[2]);
		usage(2);
	}
	if (out != NULL && (tsv || sumout))
		errx(2, "-o: writes the tensor stream; not with --summary or -t");
	if (!tsv && !sumout && rq_cli_stream_to_tty(out))
		errx(1, "%s", RQ_CLI_TTY_MSG);
	openblas_set_num_threads(threads);
	if (rq_ckpt_open(&ck, argv[0], &cfg, NULL, errbuf, sizeof errbuf) !=
	    RQ_OK)
		errx(1, "%s", errbuf);
	cfg.batch = B;
	cfg.opt_slots = 0;
	if (rq_model_plan(&m, &cfg) != RQ_OK)
		errx(1, "%s: record 0: d, mlp, heads: impossible model "
		    "configuration (sizes past int range with batch %d)", argv[0],
		    B);
	if (rq_model_alloc(m) != RQ_OK)
		errx(1, "%s: record 0: d, mlp: out of memory for a model of %zu "
		    "bytes", argv[0], rq_model_arena_bytes(m));
	if (rq_ckpt_read(ck, m, NULL, errbuf, sizeof errbuf) != RQ_OK)
		errx(1, "%s", errbuf);
	rq_ckpt_close(ck);
	/* the checkpoint's modalities (an older one: audio, visual), or
	 * --modalities: which records of data feed the two slots */
	memcpy(mod, cfg.mod, sizeof mod);
	if (mods != NULL)
		modalities(mods, mod);
	if (rq_dataset_load_named(&ds, argv[1], mod[0], mod[1],
	    (cfg.layout[0] == RQ_LAYOUT_SEQ) |
	    (cfg.layout[1] == RQ_LAYOUT_SEQ) << 1, errbuf, sizeof errbuf) !=
	    RQ_OK)
		errx(1, "%s", errbuf);
	if (ds.F != cfg.F || ds.T != cfg.T || ds.C != cfg.C || ds.H != cfg.H ||
	    ds.W != cfg.W || ds.layout[0] != cfg.layout[0] ||
	    ds.layout[1] != cfg.layout[1])
		errx(1, "%s: sample shapes differ from checkpoint %s", argv[1],
		    argv[0]);
	/* shares and key means are labelled with the names */
	snprintf(col[0], sizeof col[0], "share.%s", mod[0]);
	snprintf(col[1], sizeof col[1], "share.%s", mod[1]);
	snprintf(col[2], sizeof col[2], "share.cls");
	if (ds.classes > cfg.classes) {
		/* name the first sample beyond the model, else the metadata */
		for (size_t i = 0; i < ds.n; i++)
			if (ds.label[i] >= cfg.classes)
				errx(1, "%s: sample %zu: label %d, but the model has "
				    "%d classes", argv[1], i, ds.label[i], cfg.classes);
		errx(1, "%s: classes=%d, but the model has %d", argv[1],
		    ds.classes, cfg.classes);
	}
	n = ds.n;
	K = cfg.classes;
	d = cfg.d;
	nfl = rq_model_fusion_layers(m);	/* 1 MT, 2 MT* */
	mt = nfl > 0;
	pred = malloc(n * sizeof *pred);
	y = malloc((size_t)B * sizeof *y);
	idx = malloc((size_t)B * sizeof *idx);
	probs = malloc(n * K * sizeof *probs);
	sh = malloc(3 * n * sizeof *sh);
	ka = malloc(2 * (size_t)(nfl > 0 ? nfl : 1) * n * d * sizeof *ka);
	a = malloc((size_t)B * cfg.F * cfg.T * sizeof *a);
	vis = malloc((size_t)B * cfg.C * cfg.H * cfg.W * sizeof *vis);
	tp = calloc(3 * (size_t)K, sizeof *tp);
	if (!pred || !y || !idx || !probs || !sh || !ka || !a || !vis || !tp)
		errx(1, "out of memory");
	kv = ka + n * d;	/* MT* layer 2: ka + 2nd, kv + 2nd */
	fp = tp + K;
	fn = tp + 2 * K;
	for (size_t i = 0; i < n; i += (size_t)B) {
		int nb = (int)RQ_MIN((size_t)B, n - i);
		const float *p;
		for (int b = 0; b < nb; b++)
			idx[b] = (int64_t)(i + b);
		rq_dataset_batch(&ds, idx, nb, a, vis, y);
		rq_model_forward(m, a, vis, NULL, nb, 0, NULL);
		p = rq_model_probs(m, 0);
		memcpy(probs + i * K, p, (size_t)nb * K * sizeof *p);
		for (int b = 0; b < nb; b++) {
			int k = 0;
			for (int j = 1; j < K; j++)
				if (p[(size_t)b * K + j] > p[(size_t)b * K + k])
					k = j;
			pred[i + b] = k;
		}
		if (mt) {
			rq_model_shares(m, nb, sh + i, sh + n + i, sh + 2 * n + i);
			for (int l = 0; l < nfl; l++) {
				rq_model_kmeans(m, l, nb, ka + 2 * l * n * d + i * d,
				    kv + 2 * l * n * d + i * d);
				memcpy(q[l], rq_model_query(m, l), (size_t)d *
				    sizeof q[l][0]);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		int yy = ds.label[i], pp = pred[i];
		if (yy == pp) {
			correct++;
			tp[yy]++;
		} else {
			fp[pp]++;
			fn[yy]++;
		}
	}
	acc = (double)correct / n;
	{
		int present = 0;
		for (int k = 0; k < K; k++) {
			if (tp[k] + fn[k] == 0)
				continue;     /* class absent from the data: skipped */
			present++;
			if (tp[k] > 0)
				f1 += 2 * tp[k] / (2 * tp[k] + fp[k] + fn[k]);
		}
		f1 /= present > 0 ? present : 1;
	}
	if (tsv) {
		printf("index\tlabel\tpred");
		if (mt)
			printf("\t%s\t%s\t%s", col[0], col[1], col[2]);
		for (int k = 0; k < K; k++)
			printf("\tp%d", k);
		printf("\n");
		for (size_t i = 0; i < n; i++) {
			printf("%lld\t%d\t%d", ds.id ? (long long)ds.id[i] :
			    (long long)i, ds.label[i], pred[i]);
			if (mt)
				printf("\t%.6g\t%.6g\t%.6g", sh[i], sh[n + i],
				    sh[2 * n + i]);
			for (int k = 0; k < K; k++)
				printf("\t%.6g", probs[i * K + k]);
			printf("\n");
		}
	} else if (!sumout) {
		if ((s = rq_stream_open(out ? out : "-", "w")) == NULL)
			err(1, "%s", out ? out : "stdout");
		rq_tensor_init(&t);
		emit(s, &t, "pred", RQ_I32, 1, n, 0, pred, acc, f1);
		emit(s, &t, "label", RQ_I32, 1, n, 0, ds.label, acc, f1);
		emit(s, &t, "probs", RQ_F32, 2, n, (uint64_t)K, probs, acc, f1);
		if (mt) {
			emit(s, &t, col[0], RQ_F32, 1, n, 0, sh, acc, f1);
			emit(s, &t, col[1], RQ_F32, 1, n, 0, sh + n, acc, f1);
			emit(s, &t, col[2], RQ_F32, 1, n, 0, sh + 2 * n, acc,
			    f1);
			/* the air-dump group of each layer (MT* layer 2:
			 * fusion.1.*), with the same metadata */
			rq_meta_clear(&t);
			rq_meta_set(&t, "acc", "%.6f", acc);
			rq_meta_set(&t, "macro_f1", "%.6f", f1);
			for (int l = 0; l < nfl; l++)
				if (rq_airdump_put_named(s, &t, l,
				    (const char (*)[RQ_MODNAME_MAX])mod, q[l],
				    ka + 2 * l * n * d,
				    kv + 2 * l * n * d, n, (size_t)d) != RQ_OK) {
					warnx("%s", rq_stream_error(s));
					rq_stream_abort(s);
					exit(1);
				}
		}
		rq_tensor_free(&t);
		if (rq_stream_close(s) != RQ_OK)
			err(1, "%s", out ? out : "stdout");
	}
	{
		FILE *sf = sumout ? stdout : stderr;
		fprintf(sf, "acc=%.4f macro_f1=%.4f n=%zu", acc, f1, n);
		for (int k = 0; k < K; k++)
			if (tp[k] + fn[k] > 0)
				fprintf(sf, " acc.%d=%.4f", k, tp[k] / (tp[k] + fn[k]));
		fprintf(sf, "\n");
	}
	rq_model_free(m);
	rq_dataset_free(&ds);
	free(pred); free(y); free(idx); free(probs); free(sh); free(ka);
	free(a); free(vis); free(tp);
	if (rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
}
