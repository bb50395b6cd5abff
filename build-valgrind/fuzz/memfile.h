/*
 * memfile.h: for fuzz targets whose parser takes a path.  The input is put
 * in a memfd (no disk, no clean-up) and named by /proc/self/fd/N.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *
memfile(const unsigned char *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		if ((fd = memfd_create("fuzz", 0)) < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	return path;
}
