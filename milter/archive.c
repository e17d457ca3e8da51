/*
 * archive.c - atomic copies of signed messages (see archive.h): an
 * unnamed file (O_TMPFILE) linked into place once durable, or where that
 * is not offered a named temporary file linked and removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "archive.h"
#include "util.h"

/* DIR/YYYY/MM/DD, created step by step when make; NULL with err set. */
static char *
archive_day_dir(const char *dir, const struct tm *tm, bool make,
    struct sbuf *err)
{
	char *path = xstrdup(dir), *next;
	int parts[3] = { tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday };
	int i;

	for (i = 0; i < 3; i++) {
		next = xasprintf(i == 0 ? "%s/%04d" : "%s/%02d", path,
		    parts[i]);
		free(path);
		path = next;
		if (make && mkdir(path, 0700) != 0 && errno != EEXIST) {
			sbuf_printf(err, "mkdir %s: %s", path, strerror(errno));
			free(path);
			return NULL;
		}
	}
	return path;
}

static void
safe_copy(char *dst, size_t n, const char *src)
{
	size_t i = 0;

	for (; src != NULL && *src != '\0' && i + 1 < n; src++) {
		unsigned char ch = (unsigned char)*src;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		    ch == '@' || ch == '_')
			dst[i++] = (char)ch;
		else if (ch != '<' && ch != '>')
			dst[i++] = '_';
	}
	dst[i] = '\0';
	if (i == 0)
		snprintf(dst, n, "none");
}

static int
write_body(int fd, const struct msgbuf *body)
{
	char buf[65536];
	off_t off = 0;
	ssize_t r;

	while ((r = msgbuf_pread(body, buf, sizeof(buf), off)) > 0) {
		if (write_full(fd, buf, (size_t)r) != 0)
			return -1;
		off += r;
	}
	return r < 0 ? -1 : 0;
}

/* Writes header block, CRLF and body to fd and makes them durable. */
static int
write_copy(int fd, const char *headers, const struct msgbuf *body)
{
	if (fchmod(fd, 0600) != 0 ||
	    write_full(fd, headers, strlen(headers)) != 0 ||
	    write_full(fd, "\r\n", 2) != 0 || write_body(fd, body) != 0 ||
	    fsync(fd) != 0)
		return -1;
	return 0;
}

/*
 * The copy as an unnamed file in day (O_TMPFILE), fsync'ed, then given
 * its name with linkat(): one directory change per message instead of a
 * temporary name's creation, the link and the temporary's removal.
 * 0 when stored; -1 with err set; 2 when day does not exist yet; 1 when
 * the file system or /proc does not offer it (the caller takes the named
 * temporary path).
 */
static int
store_unnamed(const char *day, const char *final, const char *headers,
    const struct msgbuf *body, struct sbuf *err)
{
	char proc[64];
	int fd, r = -1;

	if ((fd = open(day, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600)) == -1)
		return errno == ENOENT ? 2 : 1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (write_copy(fd, headers, body) != 0)
		sbuf_printf(err, "write %s: %s", final, strerror(errno));
	/* Never replace an existing archive copy. */
	else if (linkat(AT_FDCWD, proc, AT_FDCWD, final,
	    AT_SYMLINK_FOLLOW) == 0)
		r = 0;
	else if (errno == EEXIST)
		sbuf_printf(err, "link %s: %s", final, strerror(errno));
	else
		r = 1;	/* no /proc, or it is closed to us: again by name */
	close(fd);
	return r;
}

/* The copy through a named temporary file, linked to final. */
static int
store_named(const char *day, const char *qid, const char *final,
    const char *headers, const struct msgbuf *body, struct sbuf *err)
{
	char *tmp = xasprintf("%s/.tmp.%s.XXXXXX", day, qid);
	int fd, r = -1;

	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		sbuf_printf(err, "create %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (write_copy(fd, headers, body) != 0) {
		sbuf_printf(err, "write %s: %s", tmp, strerror(errno));
		close(fd);
	} else if (close(fd) != 0)
		sbuf_printf(err, "close %s: %s", tmp, strerror(errno));
	/* Never replace an existing archive copy. */
	else if (link(tmp, final) != 0)
		sbuf_printf(err, "link %s: %s", final, strerror(errno));
	else
		r = 0;
	unlink(tmp);
	free(tmp);
	return r;
}

int
archive_store(const char *dir, time_t when, const char *queue_id,
    const char *message_id, const char *headers, const struct msgbuf *body,
    char **path_out, struct sbuf *err)
{
	char stamp[32], qid[64], mid[160];
	char *day = NULL, *final = NULL;
	struct tm tm;
	int dfd = -1, r = -1, s;

	gmtime_r(&when, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	safe_copy(qid, sizeof(qid), queue_id);
	safe_copy(mid, sizeof(mid), message_id);
	/* the day folder is made when it is missing, not tried every time */
	day = archive_day_dir(dir, &tm, false, err);
	final = xasprintf("%s/%s_%s_%s.eml", day, stamp, qid, mid);
	if ((s = store_unnamed(day, final, headers, body, err)) == 2) {
		free(day);
		if ((day = archive_day_dir(dir, &tm, true, err)) == NULL)
			goto out;
		s = store_unnamed(day, final, headers, body, err);
	}
	if (s == 1 || s == 2)
		s = store_named(day, qid, final, headers, body, err);
	if (s != 0)
		goto out;
	if ((dfd = open(day, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) != 0) {
		sbuf_printf(err, "fsync %s: %s", day, strerror(errno));
		goto out;
	}
	if (path_out != NULL) {
		*path_out = final;
		final = NULL;
	}
	r = 0;
out:
	if (dfd != -1)
		close(dfd);
	free(final);
	free(day);
	return r;
}

int
archive_sha256(const char *path, char hex[65], struct sbuf *err)
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = NULL;
	unsigned int mdlen, i;
	ssize_t n = 0;
	int fd, r = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		sbuf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	if (n < 0) {
		sbuf_printf(err, "read %s: %s", path, strerror(errno));
		goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	r = 0;
out:
	if (r != 0 && n >= 0)
		sbuf_printf(err, "%s: SHA-256 failed", path);
	EVP_MD_CTX_free(ctx);
	close(fd);
	return r;
}

const char *
archive_relative(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (strncmp(path, dir, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}
