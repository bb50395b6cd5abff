/*
 * atomic.c: output files that appear whole or not at all.  Data goes to
 * "<dir>/.<base>.rqtmp-<host>-<pid>-XXXXXX" beside the target (host: a
 * hash of the host name, pid: the writer's); commit flushes, fsyncs and
 * renames it over the target, then fsyncs the directory.  A writer killed
 * before the rename (SIGKILL during fsync, a power cut) leaves its
 * temporary behind: the next open of the same target removes the ones of
 * this host whose writer no longer exists (kill(pid, 0) fails with ESRCH).
 * A live writer's temporary, another host's (a shared file system) and
 * any other file are never touched.  A target that
 * exists and is not a regular file (/dev/null, /dev/full, a FIFO, a
 * terminal) is written in place: renaming over it would replace the
 * device node.  A target that is a symbolic link is followed (to the end
 * of a chain, even if the last link dangles): the file it names is
 * replaced and the link stays, as with a plain open(2).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rq.h"

/*
 * The path a chain of symbolic links ends at (malloc'd; path itself when
 * it is no link); NULL with errno set on failure (ELOOP past 40 links).
 */
static char *
follow_links(const char *path)
{
	char *p = strdup(path), *q, *d;
	struct stat st;
	ssize_t n;

	for (int hops = 0; p != NULL; hops++) {
		if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode))
			return p;
		if (hops == 40) {
			free(p);
			errno = ELOOP;
			return NULL;
		}
		if ((q = malloc((size_t)st.st_size + 2)) == NULL ||
		    (n = readlink(p, q, (size_t)st.st_size + 1)) < 0) {
			free(q);
			free(p);
			return NULL;
		}
		q[n] = '\0';
		if (q[0] != '/') {
			/* relative to the link's directory */
			const char *dir;
			char *r = NULL;
			size_t m;
			if ((d = strdup(p)) != NULL) {
				dir = dirname(d);
				m = strlen(dir) + (size_t)n + 2;
				if ((r = malloc(m)) != NULL)
					snprintf(r, m, "%s/%s", dir, q);
				free(d);
			}
			free(q);
			q = r;
		}
		free(p);
		p = q;
	}
	return NULL;
}

/* FNV-1a of the host name: the <host> of a temporary's name */
static uint32_t
host_tag(void)
{
	char h[256] = "";
	uint32_t x = 2166136261u;

	(void)gethostname(h, sizeof h - 1);
	for (const unsigned char *p = (const unsigned char *)h; *p; p++)
		x = (x ^ *p) * 16777619u;
	return x;
}

/*
 * Remove dir/.<base>.rqtmp-<tag>-<pid>-XXXXXX left by a dead writer of
 * this host: the name must match exactly, the file be a regular file of
 * ours, and the process be gone.  Errors are ignored (errno kept): a
 * temporary that stays is only litter.
 */
static void
clean_stale(const char *dir, const char *base, uint32_t tag)
{
	DIR *d;
	struct dirent *e;
	size_t bl = strlen(base);
	int saved = errno;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name, *p;
		char *end, full[4096];
		unsigned long t;
		long pid;
		struct stat st;

		if (n[0] != '.' || strncmp(n + 1, base, bl) != 0 ||
		    strncmp(n + 1 + bl, ".rqtmp-", 7) != 0)
			continue;
		p = n + 1 + bl + 7;
		errno = 0;
		t = strtoul(p, &end, 16);
		if (end != p + 8 || *end != '-' || t != tag)
			continue;
		p = end + 1;
		pid = strtol(p, &end, 10);
		if (end == p || *end != '-' || strlen(end + 1) != 6 || pid <= 0 ||
		    errno != 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;	/* alive, or not ours to judge */
		if ((size_t)snprintf(full, sizeof full, "%s/%s", dir, n) >=
		    sizeof full)
			continue;
		if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid())
			(void)unlink(full);
	}
	closedir(d);
	errno = saved;
}

int
rq_afile_open(rq_afile *a, const char *path)
{
	char *d, *b, *real;
	int fd, e;

	struct stat st;

	memset(a, 0, sizeof *a);
	if ((real = follow_links(path)) == NULL)
		return RQ_EIO;
	d = strdup(real);
	b = strdup(real);
	path = real;
	if (d == NULL || b == NULL)
		goto nomem;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if ((a->path = strdup(path)) == NULL)
			goto nomem;
		if ((a->fp = fopen(path, "wb")) == NULL)
			goto fail;
		free(d);
		free(b);
		free(real);
		return RQ_OK;
	}
	{
		const char *dir = dirname(d), *base = basename(b);
		size_t n = strlen(dir) + strlen(base) + 64;
		uint32_t tag = host_tag();

		clean_stale(dir, base, tag);
		if ((a->tmp = malloc(n)) == NULL)
			goto nomem;
		snprintf(a->tmp, n, "%s/.%s.rqtmp-%08lx-%ld-XXXXXX", dir, base,
		    (unsigned long)tag, (long)getpid());
	}
	if ((a->path = strdup(path)) == NULL)
		goto nomem;
	if ((fd = mkstemp(a->tmp)) < 0)
		goto fail;
	{
		mode_t um = umask(0);
		umask(um);
		(void)fchmod(fd, 0666 & ~um);
	}
	if ((a->fp = fdopen(fd, "wb")) == NULL) {
		e = errno;
		close(fd);
		unlink(a->tmp);
		errno = e;
		goto fail;
	}
	free(d);
	free(b);
	free(real);
	return RQ_OK;
nomem:
	errno = ENOMEM;
fail:
	e = errno;
	free(d);
	free(b);
	free(real);
	free(a->tmp);
	free(a->path);
	memset(a, 0, sizeof *a);
	errno = e;
	return RQ_EIO;
}

int
rq_afile_commit(rq_afile *a)
{
	int e = 0, fd;
	char *d;

	if (a->tmp == NULL) {		/* a device or FIFO: no rename */
		errno = 0;
		if (fflush(a->fp) != 0 || ferror(a->fp))
			e = errno ? errno : EIO;
		if (fclose(a->fp) != 0 && e == 0)
			e = errno;
		free(a->path);
		memset(a, 0, sizeof *a);
		errno = e;
		return e ? RQ_EIO : RQ_OK;
	}
	errno = 0;
	if (fflush(a->fp) != 0 || ferror(a->fp) || fsync(fileno(a->fp)) != 0)
		e = errno ? errno : EIO;
	if (fclose(a->fp) != 0 && e == 0)
		e = errno;
	a->fp = NULL;
	if (e == 0 && rename(a->tmp, a->path) != 0)
		e = errno;
	if (e != 0) {
		unlink(a->tmp);
	} else if ((d = strdup(a->path)) != NULL) {
		if ((fd = open(dirname(d), O_RDONLY)) >= 0) {
			(void)fsync(fd);
			close(fd);
		}
		free(d);
	}
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	errno = e;
	return e ? RQ_EIO : RQ_OK;
}

void
rq_afile_abort(rq_afile *a)
{
	int e = errno;

	if (a->fp)
		fclose(a->fp);
	if (a->tmp)
		unlink(a->tmp);
	free(a->tmp);
	free(a->path);
	memset(a, 0, sizeof *a);
	errno = e;
}
