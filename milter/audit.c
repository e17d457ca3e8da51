/*
 * audit.c - the hash-chained audit log (see audit.h).
 *
 * Each record is one JSON object on one line; "prev" is the SHA-256 of the
 * previous line. Writers serialize on a mutex (threads) and an exclusive
 * flock(2) (processes); under the lock the file is checked to still be the
 * one at path (after a rotation it is reopened), its last line is hashed
 * (or, for an empty file, the last line of path.1), and the record goes out
 * in one write(2) followed by fsync(2). audit_verify() walks path.N ...
 * path.1, path and names the first record whose chain is broken.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "audit.h"

#define AUDIT_ZERO \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct audit {
	char *path;
	int fd;
	pthread_mutex_t mu;
};

/* Hex SHA-256 of len bytes at p into out[65]. */
static void
audit_hash(const void *p, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256(p, len, md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
audit_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/*
 * Appends s as a JSON string (or null). Bytes that are not UTF-8 are
 * written as the text \xHH (an escaped backslash), so nothing is lost and
 * the line stays valid JSON and valid UTF-8.
 */
void
audit_json_string(struct sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, k;

	if (s == NULL) {
		sbuf_adds(b, "null");
		return;
	}
	n = strlen(s);
	sbuf_adds(b, "\"");
	while (n > 0) {
		if (*p == '"' || *p == '\\') {
			sbuf_printf(b, "\\%c", *p);
			k = 1;
		} else if (*p == '\n') {
			sbuf_adds(b, "\\n"), k = 1;
		} else if (*p == '\t') {
			sbuf_adds(b, "\\t"), k = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			sbuf_printf(b, "\\u%04x", *p);
			k = 1;
		} else if ((k = audit_utf8_len(p, n)) == 0) {
			sbuf_printf(b, "\\\\x%02X", *p);
			k = 1;
		} else {
			sbuf_add(b, p, k);
		}
		p += k;
		n -= k;
	}
	sbuf_adds(b, "\"");
}

/* The fields of issue 13, each only when set: older records keep their
 * shape. */
static void
audit_format_extra(struct sbuf *b, const struct audit_extra *x)
{
	const char *names[] = { "archive", "archive_sha256", "tsa_time",
	    "tsa_token" };
	const char *vals[] = { x->archive, x->archive_sha256, x->tsa_time,
	    x->tsa_token };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (vals[i] == NULL)
			continue;
		sbuf_printf(b, ",\"%s\":", names[i]);
		audit_json_string(b, vals[i]);
	}
}

static void
audit_format(struct sbuf *b, const struct audit_rec *r,
    const struct audit_extra *x, const char *prev, time_t now)
{
	static const char *const names[] = { "event", "queue_id",
	    "message_id", "role", "sender", "login", "cert_serial", "result",
	    "reason", "client", "unit" };
	const char *vals[] = { r->event, r->queue_id, r->message_id, r->role,
	    r->sender, r->login, r->cert_serial, r->result, r->reason,
	    r->client_addr, r->unit };
	struct tm tm;
	char ts[32];
	size_t i;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sbuf_printf(b, "{\"time\":\"%s\"", ts);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sbuf_printf(b, ",\"%s\":", names[i]);
		audit_json_string(b, vals[i]);
	}
	if (x != NULL)
		audit_format_extra(b, x);
	sbuf_printf(b, ",\"prev\":\"%s\"}\n", prev);
}

/*
 * The last line of fd (size > 0 bytes), without its newline, into line.
 * *complete is false when the file does not end with a newline.
 */
static int
audit_tail(int fd, off_t size, struct sbuf *line, int *complete)
{
	char buf[4096];
	off_t end, pos, start, from = 0;
	ssize_t n, i;

	if (pread(fd, buf, 1, size - 1) != 1)
		goto fail;
	*complete = buf[0] == '\n';
	end = *complete ? size - 1 : size;
	for (pos = end; pos > 0 && from == 0; pos = start) {
		start = pos > (off_t)sizeof(buf) ? pos - (off_t)sizeof(buf) : 0;
		if ((n = pread(fd, buf, (size_t)(pos - start), start)) !=
		    pos - start)
			goto fail;
		for (i = n; i > 0; i--) {
			if (buf[i - 1] == '\n') {
				from = start + i;
				break;
			}
		}
	}
	sbuf_init(line);
	sbuf_add(line, "", 0);
	for (pos = from; pos < end; pos += n) {
		n = end - pos > (off_t)sizeof(buf) ? (ssize_t)sizeof(buf) :
		    (ssize_t)(end - pos);
		if (pread(fd, buf, (size_t)n, pos) != n) {
			sbuf_free(line);
			goto fail;
		}
		sbuf_add(line, buf, (size_t)n);
	}
	return 0;
fail:
	if (errno == 0)
		errno = EIO;
	return -1;
}

/*
 * The newest rotated file, read-only: path.1, or path.2 while a rotation
 * that shifts .1 to .2 has not yet renamed path to .1. -1 when none.
 */
static int
audit_open_previous(const char *path)
{
	char *p;
	int i, fd = -1;

	for (i = 1; i <= 2 && fd < 0; i++) {
		p = xasprintf("%s.%d", path, i);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		free(p);
	}
	return fd;
}

/* The prev value for the next record of fd (an empty fd: path.1's tail). */
static int
audit_prev(struct audit *a, int fd, char prev[65], int *needs_nl)
{
	struct sbuf line;
	struct stat st;
	int ofd, complete, r;

	*needs_nl = 0;
	if (fstat(fd, &st) != 0)
		return -1;
	if (st.st_size > 0) {
		if (audit_tail(fd, st.st_size, &line, &complete) != 0)
			return -1;
		*needs_nl = !complete;
	} else {
		ofd = audit_open_previous(a->path);
		/* a writer that locked it before the rename may still append */
		if (ofd >= 0)
			(void)flock(ofd, LOCK_SH);
		if (ofd < 0 || fstat(ofd, &st) != 0 || st.st_size == 0) {
			if (ofd >= 0)
				close(ofd);
			memcpy(prev, AUDIT_ZERO, 65);
			return 0;
		}
		r = audit_tail(ofd, st.st_size, &line, &complete);
		close(ofd);
		if (r != 0)
			return -1;
	}
	audit_hash(line.s, line.len, prev);
	sbuf_free(&line);
	return 0;
}

/*
 * A new log file belongs to the owner of its folder, mode 0600: when root
 * (segelctl, or the daemon before it drops privileges) starts a file after
 * a rotation, the daemon's user must still be able to append to it.
 */
static void
audit_adopt(int fd, const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	struct stat ds, fs;

	if (slash != NULL)
		*slash = '\0';
	/* a log an older version made 0640 is made private as well */
	if (fstat(fd, &fs) == 0 && (fs.st_mode & 077) != 0)
		(void)fchmod(fd, 0600);
	if (fstat(fd, &fs) == 0 && fs.st_size == 0 &&
	    stat(slash ? (dir[0] ? dir : "/") : ".", &ds) == 0) {
		(void)fchmod(fd, 0600);
		if (geteuid() == 0 && (fs.st_uid != ds.st_uid ||
		    fs.st_gid != ds.st_gid) &&
		    fchown(fd, ds.st_uid, ds.st_gid) != 0) {
			/* the next writer as that user reports the failure */
		}
	}
	free(dir);
}

static int
audit_reopen(struct audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd >= 0)
		audit_adopt(a->fd, a->path);
	return a->fd < 0 ? -1 : 0;
}

/* Locks a->fd, reopening it while path has been rotated away. */
static int
audit_lock(struct audit *a)
{
	struct stat fs, ps;
	int tries;

	for (tries = 0; tries < 10; tries++) {
		if (a->fd < 0 && audit_reopen(a) != 0)
			return -1;
		if (flock(a->fd, LOCK_EX) != 0)
			return -1;
		if (fstat(a->fd, &fs) == 0 && stat(a->path, &ps) == 0 &&
		    fs.st_dev == ps.st_dev && fs.st_ino == ps.st_ino)
			return 0;
		(void)flock(a->fd, LOCK_UN);
		close(a->fd);
		a->fd = -1;
	}
	errno = EAGAIN;
	return -1;
}

static int
audit_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

struct audit *
audit_open(const char *path, struct sbuf *err)
{
	struct audit *a;

	a = xcalloc(1, sizeof(*a));
	a->path = xstrdup(path);
	a->fd = -1;
	if (audit_reopen(a) != 0) {
		sbuf_printf(err, "%s: cannot open audit log: %s", path,
		    strerror(errno));
		free(a->path);
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->mu, NULL);
	return a;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0)
		close(a->fd);
	pthread_mutex_destroy(&a->mu);
	free(a->path);
	free(a);
}

int
audit_head(struct audit *a, char head[65])
{
	int nl, rc = -1;

	pthread_mutex_lock(&a->mu);
	if (audit_lock(a) == 0) {
		rc = audit_prev(a, a->fd, head, &nl);
		(void)flock(a->fd, LOCK_UN);
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int
audit_write(struct audit *a, const struct audit_rec *r)
{
	return audit_write_ext(a, r, NULL);
}

int
audit_write_ext(struct audit *a, const struct audit_rec *r,
    const struct audit_extra *x)
{
	struct sbuf b;
	char prev[65];
	int nl = 0, rc = -1, saved;

	sbuf_init(&b);
	pthread_mutex_lock(&a->mu);
	if (audit_lock(a) != 0)
		goto out_unlocked;
	if (audit_prev(a, a->fd, prev, &nl) != 0)
		goto out;
	if (nl)
		sbuf_adds(&b, "\n");	/* close a torn line first */
	audit_format(&b, r, x, prev, time(NULL));
	if (audit_write_all(a->fd, b.s, b.len) != 0 || fsync(a->fd) != 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	(void)flock(a->fd, LOCK_UN);
	errno = saved;
out_unlocked:
	saved = errno;
	pthread_mutex_unlock(&a->mu);
	sbuf_free(&b);
	errno = saved;
	return rc;
}

/* A tiny strict JSON reader for the flat objects audit_write() emits. */
struct audit_json {
	const char *p, *end;
};

static void
aj_ws(struct audit_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static int
aj_hex4(struct audit_json *j, unsigned int *v)
{
	int i;

	*v = 0;
	if (j->end - j->p < 4)
		return -1;
	for (i = 0; i < 4; i++, j->p++) {
		char c = *j->p;

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static void
aj_utf8(struct sbuf *b, unsigned int cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80)
		u[0] = (unsigned char)cp, n = 1;
	else if (cp < 0x800)
		u[0] = 0xc0 | (cp >> 6), u[1] = 0x80 | (cp & 0x3f), n = 2;
	else if (cp < 0x10000)
		u[0] = 0xe0 | (cp >> 12), u[1] = 0x80 | ((cp >> 6) & 0x3f),
		u[2] = 0x80 | (cp & 0x3f), n = 3;
	else
		u[0] = 0xf0 | (cp >> 18), u[1] = 0x80 | ((cp >> 12) & 0x3f),
		u[2] = 0x80 | ((cp >> 6) & 0x3f), u[3] = 0x80 | (cp & 0x3f),
		n = 4;
	sbuf_add(b, u, n);
}

static int
aj_escape(struct audit_json *j, struct sbuf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *q;
	unsigned int cp, lo;

	if (j->p >= j->end)
		return -1;
	if ((q = strchr(from, *j->p)) != NULL && *j->p != '\0') {
		sbuf_add(b, &to[q - from], 1);
		j->p++;
		return 0;
	}
	if (*j->p++ != 'u' || aj_hex4(j, &cp) != 0)
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u')
			return -1;
		j->p += 2;
		if (aj_hex4(j, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
			return -1;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		return -1;
	}
	aj_utf8(b, cp);
	return 0;
}

static int
aj_string(struct audit_json *j, char **out)
{
	struct sbuf b;
	unsigned char c;

	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	sbuf_init(&b);
	sbuf_add(&b, "", 0);
	while (j->p < j->end && *j->p != '"') {
		c = (unsigned char)*j->p;
		if (c < 0x20)
			goto fail;
		if (c == '\\') {
			j->p++;
			if (aj_escape(j, &b) != 0)
				goto fail;
			continue;
		}
		sbuf_add(&b, j->p++, 1);
	}
	if (j->p >= j->end)
		goto fail;
	j->p++;
	*out = sbuf_steal(&b);
	return 0;
fail:
	sbuf_free(&b);
	return -1;
}

/* A scalar value: string (decoded), null (NULL), or a literal as text. */
static int
aj_value(struct audit_json *j, char **out)
{
	const char *s = j->p;

	*out = NULL;
	if (j->p < j->end && *j->p == '"')
		return aj_string(j, out);
	if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
		j->p += 4;
		return 0;
	}
	while (j->p < j->end && strchr("-+.0123456789eEtrufalse", *j->p))
		j->p++;
	if (j->p == s)
		return -1;
	*out = xstrndup(s, (size_t)(j->p - s));
	if (strcmp(*out, "true") && strcmp(*out, "false") &&
	    strspn(*out, "-+.0123456789eE") != strlen(*out)) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static char **
audit_entry_slot(struct audit_entry *e, const char *key)
{
	struct { const char *k; char **v; } t[] = {
		{ "time", &e->time }, { "event", &e->event },
		{ "queue_id", &e->queue_id }, { "message_id", &e->message_id },
		{ "role", &e->role }, { "sender", &e->sender },
		{ "login", &e->login }, { "cert_serial", &e->cert_serial },
		{ "result", &e->result }, { "reason", &e->reason },
		{ "client", &e->client }, { "unit", &e->unit },
		{ "prev", &e->prev }, { "archive", &e->archive },
		{ "archive_sha256", &e->archive_sha256 },
		{ "tsa_token", &e->tsa_token }, { "tsa_time", &e->tsa_time },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].k, key) == 0)
			return t[i].v;
	return NULL;
}

int
audit_parse(const char *line, size_t len, struct audit_entry *e)
{
	struct audit_json j = { line, line + len };
	char *key = NULL, *val = NULL, **slot;

	memset(e, 0, sizeof(*e));
	aj_ws(&j);
	if (j.p >= j.end || *j.p++ != '{')
		goto fail;
	aj_ws(&j);
	if (j.p < j.end && *j.p == '}') {
		j.p++;
		goto end;
	}
	for (;;) {
		aj_ws(&j);
		if (aj_string(&j, &key) != 0)
			goto fail;
		aj_ws(&j);
		if (j.p >= j.end || *j.p++ != ':')
			goto fail;
		aj_ws(&j);
		if (aj_value(&j, &val) != 0)
			goto fail;
		if ((slot = audit_entry_slot(e, key)) != NULL) {
			free(*slot);
			*slot = val;
			val = NULL;
		}
		free(key);
		free(val);
		key = val = NULL;
		aj_ws(&j);
		if (j.p < j.end && *j.p == ',') {
			j.p++;
			continue;
		}
		if (j.p < j.end && *j.p == '}') {
			j.p++;
			break;
		}
		goto fail;
	}
end:
	aj_ws(&j);
	if (j.p == j.end)
		return 0;
fail:
	free(key);
	free(val);
	audit_entry_free(e);
	return -1;
}

void
audit_entry_free(struct audit_entry *e)
{
	if (e == NULL)
		return;
	free(e->time);
	free(e->event);
	free(e->queue_id);
	free(e->message_id);
	free(e->role);
	free(e->sender);
	free(e->login);
	free(e->cert_serial);
	free(e->result);
	free(e->reason);
	free(e->client);
	free(e->unit);
	free(e->prev);
	free(e->archive);
	free(e->archive_sha256);
	free(e->tsa_token);
	free(e->tsa_time);
	memset(e, 0, sizeof(*e));
}

/* Rotated files of path, oldest first: the count N of path.1 .. path.N. */
int
audit_rotations(const char *path)
{
	struct stat st;
	char *p;
	int n;

	for (n = 0;; n++) {
		p = xasprintf("%s.%d", path, n + 1);
		if (stat(p, &st) != 0) {
			free(p);
			return n;
		}
		free(p);
	}
}

struct audit_walk {
	char expect[65];
	const char *anchor;	/* a head noted earlier, or NULL */
	size_t anchor_at;	/* the record whose hash it is (1..), or 0 */
	size_t records;
	int first;		/* no record seen yet */
	int trimmed;		/* the oldest file chains to a removed one */
};

/* Checks one file; 0 or 1 (err set). */
static int
audit_verify_file(const char *file, struct audit_walk *w, int oldest_rot,
    struct sbuf *err)
{
	struct audit_entry e;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	FILE *fp;
	int rc = 0;

	if ((fp = fopen(file, "r")) == NULL) {
		sbuf_printf(err, "%s: cannot read: %s", file, strerror(errno));
		return 1;
	}
	while (rc == 0 && (n = getline(&line, &cap, fp)) > 0) {
		lineno++;
		if (line[n - 1] != '\n') {
			sbuf_printf(err, "%s:%zu: incomplete record (no "
			    "newline)", file, lineno);
			rc = 1;
			break;
		}
		line[--n] = '\0';
		if (audit_parse(line, (size_t)n, &e) != 0) {
			sbuf_printf(err, "%s:%zu: not JSON", file, lineno);
			rc = 1;
			break;
		}
		if (e.prev == NULL) {
			sbuf_printf(err, "%s:%zu: not JSON of an audit record "
			    "(no \"prev\")", file, lineno);
			audit_entry_free(&e);
			rc = 1;
			break;
		}
		if (strcmp(e.prev, w->expect) != 0) {
			if (w->first && oldest_rot)
				w->trimmed = 1;
			else {
				sbuf_printf(err, "%s:%zu: prev hash mismatch "
				    "(this record, or the one before it, was "
				    "altered, removed or moved)", file, lineno);
				rc = 1;
			}
		}
		audit_entry_free(&e);
		audit_hash(line, (size_t)n, w->expect);
		w->first = 0;
		w->records++;
		if (w->anchor != NULL && w->anchor_at == 0 &&
		    strcmp(w->expect, w->anchor) == 0)
			w->anchor_at = w->records;
	}
	free(line);
	fclose(fp);
	return rc;
}

int
audit_verify(const char *path, const char *anchor, struct sbuf *err)
{
	struct audit_walk w;
	struct stat st;
	char *file;
	int n, i, rc = 0;

	memset(&w, 0, sizeof(w));
	memcpy(w.expect, AUDIT_ZERO, 65);
	w.first = 1;
	/* the head of an empty log anchors nothing */
	w.anchor = anchor != NULL && strcmp(anchor, AUDIT_ZERO) != 0 ?
	    anchor : NULL;
	n = audit_rotations(path);
	for (i = n; rc == 0 && i >= 0; i--) {
		file = i > 0 ? xasprintf("%s.%d", path, i) : xstrdup(path);
		if (i > 0 || stat(file, &st) == 0 || n == 0)
			rc = audit_verify_file(file, &w, i == n && i > 0, err);
		free(file);
	}
	if (rc == 0 && w.anchor != NULL && w.anchor_at == 0) {
		sbuf_printf(err, "anchor %s is not in the chain (the log was "
		    "rebuilt, or cut before that record)", anchor);
		return 1;
	}
	if (rc == 0) {
		sbuf_printf(err, "%zu records in %d file%s, chain intact%s; "
		    "head %s", w.records, n + 1, n ? "s" : "", w.trimmed ?
		    " (it starts in a rotated file whose predecessors were "
		    "removed)" : "", w.expect);
		if (w.anchor != NULL)
			sbuf_printf(err, "; anchor is record %zu of %zu",
			    w.anchor_at, w.records);
	}
	return rc;
}
