/*
 * rq-npy: import NumPy .npy files into a tensor stream, or (-x) export the
 * records of a stream to .npy files that numpy.load opens directly.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

#define MAXPAT 64

static void
usage(int status)
{
	FILE *f = status ? stderr : stdout;

	fprintf(f, "usage: rq-npy [-o file] [--meta key=value] "
	    "[--rename name] file.npy ...\n"
	    "       rq-npy --export --dir dir [--name glob] [file ...]\n");
	if (status == 0)
		fprintf(f,
		    "  -o file            import: write to file, atomically "
		    "(stdout)\n"
		    "  --meta key=value   import: set metadata on every record "
		    "(repeatable)\n"
		    "  --rename name      import: name the next file's record "
		    "(repeatable)\n"
		    "  --export           export records to .npy files\n"
		    "  --dir dir          export: the output directory\n"
		    "  --name glob        export: only records whose name "
		    "matches (repeatable)\n"
		    "  -h, --help         print this help\n"
		    "  --version          print the version\n");
	exit(status);
}

/* name for a file: "dir/0003-audio.npy" -> "audio", "x.npy" -> "x" */
static void
default_name(const char *path, char *name)
{
	const char *b = strrchr(path, '/'), *p;
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".npy") == 0)
		n -= 4;
	for (p = b; p < b + n && isdigit((unsigned char)*p); p++)
		;
	if (p > b && p < b + n && *p == '-') {	/* our export prefix */
		n -= (size_t)(p + 1 - b);
		b = p + 1;
	}
	n = RQ_MIN(n, (size_t)RQ_NAME_MAX);
	memcpy(name, b, n);
	name[n] = '\0';
}

/* metadata from "x.meta" beside "x.npy", if present */
static int
read_sidecar(const char *path, rq_tensor *t)
{
	char side[PATH_MAX];
	size_t n = strlen(path), got;
	FILE *fp;
	char *buf;

	if (n < 4 || strcmp(path + n - 4, ".npy") != 0 || n >= sizeof side)
		return 0;
	memcpy(side, path, n - 4);
	strcpy(side + n - 4, ".meta");
	if ((fp = fopen(side, "rb")) == NULL) {
		if (errno == ENOENT)
			return 0;
		warn("%s", side);
		return -1;
	}
	if ((buf = malloc(RQ_META_MAX + 2)) == NULL) {
		warn(NULL);
		fclose(fp);
		return -1;
	}
	got = fread(buf, 1, RQ_META_MAX + 1, fp);
	if (ferror(fp)) {
		warn("%s", side);
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	if (got > RQ_META_MAX || !rq_meta_valid(buf, got)) {
		if (got > RQ_META_MAX)
			warnx("%s: longer than %d bytes", side, RQ_META_MAX);
		else
			warnx("%s: not key=value lines", side);
		free(buf);
		return -1;
	}
	buf[got] = '\0';
	free(t->meta);
	t->meta = buf;
	t->meta_len = got;
	t->meta_cap = RQ_META_MAX + 2;
	return 0;
}

static int
import(int argc, char **argv, char **names, int nnames, char **kv, int nkv,
    const char *outpath)
{
	rq_stream *out;
	rq_tensor t;
	char emsg[256], name[RQ_NAME_MAX + 1], key[256];

	if (argc == 0)
		usage(2);
	if (nnames > argc)
		errx(2, "%d --rename names for %d files", nnames, argc);
	if ((out = rq_stream_open(outpath ? outpath : "-", "w")) == NULL)
		err(1, "%s", outpath);
	rq_tensor_init(&t);
	for (int i = 0; i < argc; i++) {
		int std = strcmp(argv[i], "-") == 0;
		FILE *fp = std ? stdin : fopen(argv[i], "rb");

		if (fp == NULL) {
			warn("%s", argv[i]);
			goto fail;
		}
		rq_meta_clear(&t);
		if (rq_npy_read(fp, &t, emsg, sizeof emsg) != RQ_OK) {
			warnx("%s: %s", argv[i], emsg);
			if (!std)
				fclose(fp);
			goto fail;
		}
		if (!std) {
			fclose(fp);
			if (read_sidecar(argv[i], &t) != 0)
				goto fail;
		}
		if (i < nnames)
			snprintf(name, sizeof name, "%s", names[i]);
		else
			default_name(std ? "" : argv[i], name);
		rq_tensor_set_name(&t, name);
		for (int k = 0; k < nkv; k++) {
			size_t kl = (size_t)(strchr(kv[k], '=') - kv[k]);

			memcpy(key, kv[k], kl);
			key[kl] = '\0';
			if (rq_meta_set(&t, key, "%s", kv[k] + kl + 1) != 0) {
				warnx("%s: -m %s: bad key or value, or "
				    "metadata too long", argv[i], kv[k]);
				goto fail;
			}
		}
		if (rq_tensor_write(out, &t) != RQ_OK) {
			warnx("%s", rq_stream_error(out));
			goto fail;
		}
	}
	rq_tensor_free(&t);
	if (rq_stream_close(out) != RQ_OK)
		err(1, "%s", outpath ? outpath : "stdout");
	if (outpath == NULL && rq_finish_stdout() != 0)
		err(1, "stdout");
	return 0;
fail:
	rq_stream_abort(out);
	rq_tensor_free(&t);
	return 1;
}

/* write one file atomically; 0 or -1 with a warning */
static int
put_file(const char *path, const rq_tensor *t, int npy)
{
	rq_afile af;

	if (rq_afile_open(&af, path) != RQ_OK) {
		warn("%s", path);
		return -1;
	}
	if ((npy ? rq_npy_write(af.fp, t) != RQ_OK :
	    fwrite(t->meta, 1, t->meta_len, af.fp) != t->meta_len)) {
		warn("%s", path);
		rq_afile_abort(&af);
		return -1;
	}
	if (rq_afile_commit(&af) != RQ_OK) {
		warn("%s", path);
		return -1;
	}
	return 0;
}

static int
export(int argc, char **argv, char **pats, int npats, const char *dir)
{
	static char *stdin_only[] = {"-", NULL};
	char path[PATH_MAX], base[RQ_NAME_MAX + 1];
	rq_tensor t;
	long idx = 0;
	int rc;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		err(1, "%s", dir);
	if (argc == 0)
		argv = stdin_only;
	rq_tensor_init(&t);
	for (; *argv; argv++) {
		rq_stream *in = rq_stream_open(*argv, "r");

		if (in == NULL)
			err(1, "%s", *argv);
		while ((rc = rq_tensor_read(in, &t)) == RQ_OK) {
			int ok = npats == 0;
			size_t n;

			for (int i = 0; i < npats && !ok; i++)
				ok = fnmatch(pats[i], t.name, 0) == 0;
			if (!ok) {
				idx++;
				continue;
			}
			for (n = 0; t.name[n]; n++)
				base[n] = isalnum((unsigned char)t.name[n]) ||
				    strchr("._-", t.name[n]) ? t.name[n] : '_';
			base[n] = '\0';
			if ((size_t)snprintf(path, sizeof path, "%s/%04ld-%s.npy",
			    dir, idx, base) >= sizeof path)
				errx(1, "%s: path too long", dir);
			if (put_file(path, &t, 1) != 0)
				return 1;
			if (t.meta_len) {
				strcpy(path + strlen(path) - 4, ".meta");
				if (put_file(path, &t, 0) != 0)
					return 1;
			}
			idx++;
		}
		if (rc != RQ_EOF)
			errx(1, "%s", rq_stream_error(in));
		rq_stream_close(in);
	}
	rq_tensor_free(&t);
	return 0;
}

enum { OPT_VERSION = 256, OPT_META, OPT_RENAME, OPT_EXPORT, OPT_DIR,
    OPT_NAME };
static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"meta", required_argument, NULL, OPT_META},
	{"rename", required_argument, NULL, OPT_RENAME},
	{"export", no_argument, NULL, OPT_EXPORT},
	{"dir", required_argument, NULL, OPT_DIR},
	{"name", required_argument, NULL, OPT_NAME},
	{NULL, 0, NULL, 0}
};

int
main(int argc, char **argv)
{
	char *names[MAXPAT], *kv[MAXPAT];
	const char *dir = NULL, *outpath = NULL;
	int c, nnames = 0, nkv = 0, xflag = 0, oldn = 0, glob = 0, rename = 0;

	rq_cli_init(argc, argv);
	while ((c = getopt_long(argc, argv, "ho:d:m:n:x", longopts, NULL))
	    != -1) {
		switch (c) {
		case 'h':
			usage(0);
			break;
		case OPT_VERSION:
			printf("rq-npy %s\n", rq_cli_version());
			exit(0);
		case 'd':
			warnx("-d is deprecated; use --dir");
			/* FALLTHROUGH */
		case OPT_DIR:
			dir = optarg;
			break;
		case 'm':
			warnx("-m is deprecated; use --meta");
			/* FALLTHROUGH */
		case OPT_META: {
			const char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg ||
			    (size_t)(eq - optarg) > 255)
				errx(2, "--meta: %s: want key=value", optarg);
			if (nkv == MAXPAT)
				errx(2, "too many --meta options");
			kv[nkv++] = optarg;
			break;
		}
		case 'n':	/* --name or --rename: known after -x */
		case OPT_NAME:
		case OPT_RENAME:
			if (nnames == MAXPAT)
				errx(2, "too many --name or --rename options");
			names[nnames++] = optarg;
			oldn |= c == 'n';
			glob |= c == OPT_NAME;
			rename |= c == OPT_RENAME;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'x':
			warnx("-x is deprecated; use --export");
			/* FALLTHROUGH */
		case OPT_EXPORT:
			xflag = 1;
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (oldn)
		warnx("-n is deprecated; use %s", xflag ? "--name" :
		    "--rename");
	if (xflag) {
		if (dir == NULL) {
			warnx("--export needs --dir");
			usage(2);
		}
		if (nkv || outpath || rename) {
			warnx("%s is for import, not --export", nkv ?
			    "--meta" : outpath ? "-o" : "--rename");
			usage(2);
		}
		return export(argc, argv, names, nnames, dir);
	}
	if (dir != NULL || glob) {
		warnx("%s is for --export", dir ? "--dir" : "--name");
		usage(2);
	}
	if (argc == 0) {
		warnx("missing operand: file.npy");
		usage(2);
	}
	if (rq_cli_stream_to_tty(outpath))
		errx(1, "%s", RQ_CLI_TTY_MSG);
	for (int i = 0; i < nnames; i++)
		if (strlen(names[i]) > RQ_NAME_MAX || strchr(names[i], '\n'))
			errx(2, "--rename: name longer than %d bytes or with a "
			    "newline", RQ_NAME_MAX);
	return import(argc, argv, names, nnames, kv, nkv, outpath);
}
