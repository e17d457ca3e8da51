/*
 * msgbuf.c - memory-or-spool byte buffer (see msgbuf.h).
 *
 * Up to the threshold the bytes live in one heap block; the first append
 * that would pass it moves them to an unlinked temporary file (O_TMPFILE
 * when the file system has it, else mkstemp+unlink), mode 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msgbuf.h"
#include "util.h"

struct msgbuf {
	char *mem;
	size_t len, cap, threshold;
	int fd;
	char *tmp_dir;
};

struct msgbuf *
msgbuf_new(size_t threshold, const char *tmp_dir)
{
	struct msgbuf *mb = xcalloc(1, sizeof(*mb));
	const char *t = tmp_dir;

	if (t == NULL && (t = getenv("TMPDIR")) == NULL)
		t = "/tmp";
	mb->threshold = threshold;
	mb->tmp_dir = xstrdup(t);
	mb->fd = -1;
	return mb;
}

void
msgbuf_reset(struct msgbuf *mb)
{
	if (mb == NULL)
		return;
	free(mb->mem);
	mb->mem = NULL;
	mb->len = mb->cap = 0;
	if (mb->fd != -1)
		close(mb->fd);
	mb->fd = -1;
}

void
msgbuf_free(struct msgbuf *mb)
{
	if (mb == NULL)
		return;
	msgbuf_reset(mb);
	free(mb->tmp_dir);
	free(mb);
}

int
msgbuf_tmpfile(const char *dir)
{
	char *path;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1)
		return fd;
	path = xasprintf("%s/segel.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd != -1)
		unlink(path);
	free(path);
	return fd;
}

static int
spool(struct msgbuf *mb)
{
	int fd = msgbuf_tmpfile(mb->tmp_dir);

	if (fd == -1)
		return -1;
	if (write_full(fd, mb->mem, mb->len) != 0) {
		close(fd);
		return -1;
	}
	free(mb->mem);
	mb->mem = NULL;
	mb->cap = 0;
	mb->fd = fd;
	return 0;
}

int
msgbuf_append(struct msgbuf *mb, const void *p, size_t n)
{
	size_t cap;

	if (n == 0)
		return 0;
	if (mb->fd == -1 && mb->len + n > mb->threshold && spool(mb) != 0)
		return -1;
	if (mb->fd != -1) {
		if (write_full(mb->fd, p, n) != 0)
			return -1;
		mb->len += n;
		return 0;
	}
	if (mb->len + n + 1 > mb->cap) {
		cap = mb->cap ? mb->cap : 4096;
		while (cap < mb->len + n + 1)
			cap *= 2;
		mb->mem = xreallocarray(mb->mem, cap, 1);
		mb->cap = cap;
	}
	memcpy(mb->mem + mb->len, p, n);
	mb->len += n;
	mb->mem[mb->len] = '\0';
	return 0;
}

size_t
msgbuf_len(const struct msgbuf *mb)
{
	return mb->len;
}

const char *
msgbuf_mem(const struct msgbuf *mb)
{
	if (mb->fd != -1)
		return NULL;
	return mb->mem ? mb->mem : "";
}

int
msgbuf_fd(const struct msgbuf *mb)
{
	return mb->fd;
}

ssize_t
msgbuf_pread(const struct msgbuf *mb, void *buf, size_t n, off_t off)
{
	ssize_t r;

	if (off < 0)
		return -1;
	if (mb->fd == -1) {
		if ((size_t)off >= mb->len)
			return 0;
		if (n > mb->len - (size_t)off)
			n = mb->len - (size_t)off;
		memcpy(buf, mb->mem + off, n);
		return (ssize_t)n;
	}
	do
		r = pread(mb->fd, buf, n, off);
	while (r < 0 && errno == EINTR);
	return r;
}

const char *
msgbuf_tmp_dir(const struct msgbuf *mb)
{
	return mb->tmp_dir;
}
