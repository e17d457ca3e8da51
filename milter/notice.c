/*
 * notice.c - expiry and revocation notices by mail (see notice.h).
 *
 * The texts are fixed here, Indonesian first, then English: the officer's
 * tool speaks both, like segel's SMTP replies. Nothing of a certificate
 * reaches a header but the owner's address, which the store already
 * limits to a plain file name (no blanks, no control characters); names
 * from certificates go into the body with control characters replaced.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/rand.h>

#include "notice.h"
#include "smime_sign.h"

#define NOTICE_MAX_ARGS	32

/* The From of every notice: the officer, or postmaster of the domain. */
static char *
notice_from(const struct conf *c)
{
	return c->officer != NULL ? xstrdup(c->officer) :
	    xasprintf("postmaster@%s", c->domain);
}

/* s with every control character made '?' (for the body); caller frees. */
static char *
notice_clean(const char *s)
{
	char *o = xstrdup(s != NULL ? s : "-"), *p;

	for (p = o; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	return o;
}

static void
notice_day(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

/* From, To, Cc, Subject, Date and Message-ID into m (MIME: notice_post). */
static void
notice_header(const struct conf *c, struct sbuf *m, const char *to,
    const char *cc, const char *subject, time_t now)
{
	unsigned char r[8] = { 0 };
	char date[64], *from = notice_from(c);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	(void)RAND_bytes(r, sizeof(r));
	sbuf_printf(m, "From: segel <%s>\nTo: %s\n", from, to);
	if (cc != NULL)
		sbuf_printf(m, "Cc: %s\n", cc);
	sbuf_printf(m, "Subject: %s\nDate: %s\nMessage-ID: <notice.%lld."
	    "%02x%02x%02x%02x%02x%02x%02x%02x@%s>\n"
	    "Auto-Submitted: auto-generated\n", subject, date,
	    (long long)now, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
	    c->domain);
	free(from);
}

/* Splits the command line on blanks into argv (a copy in *buf). */
static int
notice_argv(const char *cmd, char **buf, char *argv[NOTICE_MAX_ARGS + 1])
{
	char *p, *save = NULL;
	int n = 0;

	*buf = xstrdup(cmd);
	for (p = strtok_r(*buf, " \t", &save); p != NULL && n < NOTICE_MAX_ARGS;
	    p = strtok_r(NULL, " \t", &save))
		argv[n++] = p;
	argv[n] = NULL;
	return n;
}

/* Writes all of s to fd; -1 on a write error. */
static int
notice_write(int fd, const char *s, size_t len)
{
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, s, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

int
notice_send(const struct conf *c, const char *msg, struct sbuf *err)
{
	char *argv[NOTICE_MAX_ARGS + 1], *buf;
	void (*oldpipe)(int);
	int fds[2], status, wr;
	pid_t pid;

	if (notice_argv(c->notice_sendmail, &buf, argv) == 0 ||
	    access(argv[0], X_OK) != 0) {
		sbuf_printf(err, "lifecycle.sendmail: cannot run %s: %s",
		    argv[0] ? argv[0] : "(empty)", strerror(errno ? errno : EINVAL));
		free(buf);
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		sbuf_printf(err, "cannot start %s: %s", argv[0], strerror(errno));
		free(buf);
		return -1;
	}
	if (pid == 0) {
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(71);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[0]);
	oldpipe = signal(SIGPIPE, SIG_IGN);
	wr = notice_write(fds[1], msg, strlen(msg));
	close(fds[1]);
	signal(SIGPIPE, oldpipe);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (wr != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		sbuf_printf(err, "%s %s (exit %d)", argv[0], wr != 0 ?
		    "did not take the message" : "failed",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		free(buf);
		return -1;
	}
	free(buf);
	return 0;
}

/* The officer's store entry, when segelctl can sign with it: usable now,
 * its key a file (a token's key is the daemon's to use). */
static const struct cert_entry *
notice_signer(const struct conf *c, const struct certstore *cs, time_t now)
{
	const struct cert_entry *e = NULL;

	if (cs == NULL || c->officer == NULL ||
	    certstore_lookup(cs, c->officer, now, &e) != CERT_OK ||
	    e->key == NULL || e->uri != NULL)
		return NULL;
	return e;
}

/* Appends b to m with CRLF made LF (sendmail's form); -1 on a read error. */
static int
notice_unix(struct sbuf *m, const struct msgbuf *b)
{
	char buf[8192], *p, *q;
	off_t off = 0;
	ssize_t n;

	while ((n = msgbuf_pread(b, buf, sizeof(buf) - 1, off)) > 0) {
		off += n;
		buf[n] = '\0';
		for (p = buf; (q = strstr(p, "\r\n")) != NULL; p = q + 2) {
			sbuf_add(m, p, (size_t)(q - p));
			sbuf_add(m, "\n", 1);
		}
		sbuf_adds(m, p);	/* a CR at a chunk's end: S/MIME bodies
					   are CRLF, it stays harmless */
	}
	return n < 0 ? -1 : 0;
}

/*
 * The MIME part of the notice after its header m, signed with signer's
 * key as segel signs (smime_sign: footer, 7-bit, detached SHA-256) when
 * there is a signer, else plain text. 0, or -1 with err.
 */
static int
notice_body(const struct conf *c, const struct cert_entry *signer,
    struct sbuf *m, const char *text, struct sbuf *err)
{
	struct sign_req rq;
	struct sign_out out;
	struct msgbuf *b;
	const char *p;
	int rc = -1;

	if (signer == NULL) {
		sbuf_printf(m, "MIME-Version: 1.0\nContent-Type: text/plain; "
		    "charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s", text);
		return 0;
	}
	g_mime_init();		/* counted: a no-op when done already */
	memset(&rq, 0, sizeof(rq));
	memset(&out, 0, sizeof(out));
	b = msgbuf_new(c->memory_threshold, c->tmp_dir);
	for (p = text; *p != '\0'; p++)
		if ((*p == '\n' ? msgbuf_append(b, "\r\n", 2) :
		    msgbuf_append(b, p, 1)) != 0)
			goto out;
	rq.content_headers = "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n";
	rq.body = b;
	rq.footer = c->footer;
	rq.signer = signer;
	rq.tmp_dir = c->tmp_dir;
	rq.memory_threshold = c->memory_threshold;
	if (smime_sign(&rq, &out, err) != 0)
		goto out;
	sbuf_printf(m, "MIME-Version: 1.0\nContent-Type: %s\n\n",
	    out.content_type);
	rc = notice_unix(m, out.body);
out:
	if (rc != 0 && err->len == 0)
		sbuf_printf(err, "cannot sign the notice: %s", strerror(errno));
	sign_out_free(&out);
	msgbuf_free(b);
	return rc;
}

/* Completes the notice (header m, text) and hands it to sendmail. */
static int
notice_post(const struct conf *c, const struct certstore *cs, struct sbuf *m,
    const char *text, time_t now, struct sbuf *err)
{
	if (notice_body(c, notice_signer(c, cs, now), m, text, err) != 0)
		return -1;
	return notice_send(c, m->s, err);
}

int
notice_threshold(const struct conf *c, time_t not_after, time_t now,
    long *days_left)
{
	long left;
	size_t i;
	int t = 0;

	if (not_after <= now)
		return 0;
	left = (long)((not_after - now + 86399) / 86400);	/* whole days, up */
	if (days_left != NULL)
		*days_left = left;
	for (i = 0; i < c->n_notify_days; i++)
		if (left <= c->notify_days[i])
			t = c->notify_days[i];	/* descending: the smallest */
	return t;
}

/* ---------------------------------------------------------------- state */

/* The state file's records (empty when there is none yet). */
static int
notice_state_read(const char *path, struct sbuf *st)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -1;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || st->len > 16 * 1024 * 1024) {
			close(fd);
			return -1;
		}
		sbuf_add(st, buf, (size_t)n);
	}
	close(fd);
	return 0;
}

/* True when the state holds the notice SERIAL ADDRESS DAYS. */
static int
notice_state_has(const struct sbuf *st, const char *key)
{
	const char *p = st->s;
	size_t kl = strlen(key);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, kl) == 0 && p[kl] == '\t')
			return 1;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return 0;
}

/* Adds a record and replaces the file atomically (temporary + rename). */
static int
notice_state_add(const char *path, struct sbuf *st, const char *key,
    time_t now)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd, rc = -1;

	sbuf_printf(st, "%s\t%lld\n", key, (long long)now);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd >= 0 && notice_write(fd, st->s, st->len) == 0 &&
	    fsync(fd) == 0 && close(fd) == 0) {
		fd = -1;
		rc = rename(tmp, path);
	}
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* ---------------------------------------------------------------- texts */

/* The owner's notice for e, left whole days before its end: header in m,
 * text in t. */
static void
notice_expiry_text(const struct conf *c, const struct cert_entry *e,
    long left, time_t now, struct sbuf *m, struct sbuf *t)
{
	char *name = notice_clean(e->subject_cn), *issuer = notice_clean(e->issuer);
	char day[32], *subj;

	notice_day(e->not_after, day, sizeof(day));
	subj = xasprintf("Sertifikat elektronik Anda berakhir dalam %ld hari / "
	    "Your electronic certificate expires in %ld day%s", left, left,
	    left == 1 ? "" : "s");
	notice_header(c, m, e->address, NULL, subj, now);
	sbuf_printf(t,
	    "Yth. %s,\n\n"
	    "sertifikat elektronik Anda berakhir dalam %ld hari:\n\n"
	    "  alamat:      %s\n  nomor seri:  %s\n  penerbit:    %s\n"
	    "  berakhir:    %s\n\n"
	    "Sesudah tanggal itu surel dinas Anda tidak dapat lagi\n"
	    "ditandatangani secara elektronik. Mohon ajukan pembaruan\n"
	    "sertifikat kepada petugas pendaftaran (OP)%s%s sebelum tanggal\n"
	    "tersebut.\n\n"
	    "Dear %s,\n\n"
	    "your electronic certificate expires in %ld day%s:\n\n"
	    "  address:     %s\n  serial:      %s\n  issuer:      %s\n"
	    "  expires on:  %s\n\n"
	    "After that date your official mail can no longer be signed\n"
	    "electronically. Please ask the registration officer (OP)%s%s\n"
	    "to renew it before then.\n\n"
	    "segel, gerbang surel / mail gateway %s\n",
	    name, left, e->address, e->serial_hex, issuer, day,
	    c->officer ? ", " : "", c->officer ? c->officer : "",
	    name, left, left == 1 ? "" : "s", e->address, e->serial_hex,
	    issuer, day, c->officer ? ", " : "", c->officer ? c->officer : "",
	    c->domain);
	free(subj);
	free(name);
	free(issuer);
}

/* One line of the officer's summary. */
static void
notice_summary_line(struct sbuf *sum, const struct cert_entry *e, long left,
    int sent)
{
	char day[32], *name = notice_clean(e->subject_cn);

	notice_day(e->not_after, day, sizeof(day));
	sbuf_printf(sum, "  %s (%s), seri/serial %s: %s, %ld hari/days%s\n",
	    e->address, name, e->serial_hex, day, left, sent ? "" :
	    "  -- PEMBERITAHUAN GAGAL / NOTICE FAILED");
	free(name);
}

/* The officer's summary of this run's notices. */
static int
notice_summary(const struct conf *c, const struct certstore *cs,
    const struct sbuf *lines, int n, time_t now, struct sbuf *err)
{
	struct sbuf m, t;
	char *subj;
	int rc;

	sbuf_init(&m);
	sbuf_init(&t);
	subj = xasprintf("Ringkasan: %d sertifikat elektronik segera berakhir / "
	    "Summary: %d electronic certificate%s expiring soon", n, n,
	    n == 1 ? "" : "s");
	notice_header(c, &m, c->officer, NULL, subj, now);
	sbuf_printf(&t,
	    "Pemilik sertifikat berikut telah diberi tahu hari ini bahwa\n"
	    "sertifikatnya segera berakhir (alamat, nama, nomor seri, tanggal\n"
	    "berakhir, sisa hari):\n\n"
	    "The owners of these certificates were told today that they expire\n"
	    "soon (address, name, serial, expiry date, days left):\n\n%s\n"
	    "segel, gerbang surel / mail gateway %s\n", lines->s, c->domain);
	rc = notice_post(c, cs, &m, t.s, now, err);
	free(subj);
	sbuf_free(&m);
	sbuf_free(&t);
	return rc;
}

/* Sends one owner's notice unless the state has it; 1 sent, 0 already, -1. */
static int
notice_one(const struct conf *c, const struct certstore *cs,
    const struct cert_entry *e, int t, long left, struct sbuf *st, time_t now,
    FILE *out)
{
	char *key = xasprintf("%s\t%s\t%d", e->serial_hex, e->address, t);
	struct sbuf err, m, txt;
	int rc = 0;

	if (notice_state_has(st, key)) {
		fprintf(out, "%s: the %d-day notice was already sent\n",
		    e->address, t);
		free(key);
		return 0;
	}
	sbuf_init(&err);
	sbuf_init(&m);
	sbuf_init(&txt);
	notice_expiry_text(c, e, left, now, &m, &txt);
	if (notice_post(c, cs, &m, txt.s, now, &err) != 0) {
		fprintf(out, "%s: notice NOT sent: %s\n", e->address, err.s);
		rc = -1;
	} else {
		fprintf(out, "%s: %d-day notice sent (expires in %ld day%s)\n",
		    e->address, t, left, left == 1 ? "" : "s");
		if (notice_state_add(c->notice_state, st, key, now) != 0)
			fprintf(out, "segelctl: %s: %s: it may be sent again\n",
			    c->notice_state, strerror(errno));
		rc = 1;
	}
	sbuf_free(&m);
	sbuf_free(&txt);
	free(key);
	sbuf_free(&err);
	return rc;
}

int
notice_expiring(const struct conf *c, const struct certstore *cs, time_t now,
    FILE *out)
{
	const struct cert_entry *e;
	struct sbuf st, sum, err;
	int t, r, failed = 0, n = 0;
	long left;
	size_t i;

	sbuf_init(&st);
	sbuf_init(&sum);
	sbuf_init(&err);
	if (notice_state_read(c->notice_state, &st) != 0) {
		fprintf(out, "segelctl: %s: cannot read: %s; no notice sent\n",
		    c->notice_state, strerror(errno));
		failed = 1;
		goto out;
	}
	for (i = 0; (e = certstore_get(cs, i)) != NULL; i++) {
		if (e->cert == NULL || e->status == CERT_REVOKED ||
		    (t = notice_threshold(c, e->not_after, now, &left)) == 0)
			continue;
		if ((r = notice_one(c, cs, e, t, left, &st, now, out)) == 0)
			continue;
		failed += r < 0;
		notice_summary_line(&sum, e, left, r > 0);
		n++;
	}
	if (n > 0 && c->officer != NULL) {
		if (notice_summary(c, cs, &sum, n, now, &err) != 0) {
			fprintf(out, "%s: summary NOT sent: %s\n", c->officer,
			    err.s);
			failed++;
		} else
			fprintf(out, "%s: summary of %d notice%s sent\n",
			    c->officer, n, n == 1 ? "" : "s");
	}
out:
	sbuf_free(&st);
	sbuf_free(&sum);
	sbuf_free(&err);
	return failed;
}

int
notice_revoked(const struct conf *c, const struct certstore *cs,
    const struct cert_entry *e, const char *reason, time_t now,
    struct sbuf *err)
{
	char *name = notice_clean(e->subject_cn), *why = notice_clean(reason);
	char day[32];
	struct sbuf m, t;
	int rc;

	notice_day(now, day, sizeof(day));
	sbuf_init(&m);
	sbuf_init(&t);
	notice_header(c, &m, e->address, c->officer, "Sertifikat elektronik Anda "
	    "telah dicabut / Your electronic certificate has been revoked", now);
	sbuf_printf(&t,
	    "Yth. %s,\n\n"
	    "sertifikat elektronik Anda telah dicabut oleh petugas pendaftaran\n"
	    "(OP):\n\n"
	    "  alamat:      %s\n  nomor seri:  %s\n  dicabut:     %s\n"
	    "  alasan:      %s\n\n"
	    "Sejak saat ini surel dinas Anda tidak lagi ditandatangani dengan\n"
	    "sertifikat ini. Hubungi petugas pendaftaran untuk sertifikat baru.\n\n"
	    "Dear %s,\n\n"
	    "your electronic certificate was revoked by the registration\n"
	    "officer (OP):\n\n"
	    "  address:     %s\n  serial:      %s\n  revoked on:  %s\n"
	    "  reason:      %s\n\n"
	    "From now on your official mail is no longer signed with this\n"
	    "certificate. Ask the registration officer for a new one.\n\n"
	    "segel, gerbang surel / mail gateway %s\n",
	    name, e->address, e->serial_hex, day, why,
	    name, e->address, e->serial_hex, day, why, c->domain);
	rc = notice_post(c, cs, &m, t.s, now, err);
	sbuf_free(&m);
	sbuf_free(&t);
	free(name);
	free(why);
	return rc;
}
