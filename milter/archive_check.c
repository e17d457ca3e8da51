/*
 * archive_check.c - archive files against their audit records (see
 * archive_check.h).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "archive.h"
#include "archive_check.h"
#include "audit_walk.h"
#include "msgbuf.h"
#include "policy.h"
#include "verify.h"

#define ARCHIVE_HEAD_MAX	(1024 * 1024)	/* header block of a copy */

struct arec {
	char *rel, *sha, *sender;
	bool encrypted;		/* the client's enveloped mail: no signature */
	time_t time;
	size_t index;
};

struct acoll {
	struct arec *v;
	size_t n, cap;
};

/* Walk callback: every record that names an archive file. */
static int
archive_collect(const struct audit_walk_rec *w, void *arg)
{
	struct acoll *a = arg;
	struct arec *r;

	if (w->e == NULL || w->e->archive == NULL)
		return 0;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	r = &a->v[a->n++];
	r->rel = xstrdup(w->e->archive);
	r->sha = xstrdup(w->e->archive_sha256 ? w->e->archive_sha256 : "");
	r->sender = w->e->sender ? xstrdup(w->e->sender) : NULL;
	r->encrypted = w->e->result != NULL &&
	    strcmp(w->e->result, "encrypted") == 0;
	r->time = w->time;
	r->index = w->index;
	return 0;
}

static int
arec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct arec *)a)->rel,
	    ((const struct arec *)b)->rel);
}

static void
acoll_free(struct acoll *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->v[i].rel);
		free(a->v[i].sha);
		free(a->v[i].sender);
	}
	free(a->v);
}

/* A record's path may not leave the archive. */
static bool
archive_rel_safe(const char *rel)
{
	return rel[0] != '\0' && rel[0] != '/' && strstr(rel, "..") == NULL;
}

/*
 * Reads the archived message at path: its header block into *hdrs and its
 * body into a msgbuf. -1 with err set.
 */
static int
archive_read(const struct conf *c, const char *path, char **hdrs,
    struct msgbuf **body, struct sbuf *err)
{
	struct sbuf head;
	char buf[65536], *end;
	ssize_t n;
	size_t skip;
	int fd, r = -1;

	*hdrs = NULL;
	*body = msgbuf_new(c->memory_threshold, c->tmp_dir);
	sbuf_init(&head);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		sbuf_printf(err, "%s", strerror(errno));
		return -1;
	}
	while (head.len <= ARCHIVE_HEAD_MAX &&
	    (n = read(fd, buf, sizeof(buf))) > 0)
		sbuf_add(&head, buf, (size_t)n);
	if (head.s == NULL || (end = strstr(head.s, "\r\n\r\n")) == NULL) {
		sbuf_adds(err, "no header block");
		goto out;
	}
	skip = (size_t)(end - head.s) + 4;
	*hdrs = xstrndup(head.s, skip - 2);
	if (msgbuf_append(*body, head.s + skip, head.len - skip) != 0)
		goto io;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (msgbuf_append(*body, buf, (size_t)n) != 0)
			goto io;
	if (n == 0) {
		r = 0;
		goto out;
	}
io:
	sbuf_printf(err, "%s", strerror(errno));
out:
	close(fd);
	sbuf_free(&head);
	return r;
}

/* True when name prints as rfc2253 (RFC 2253, as verify results give it). */
static bool
archive_name_is(const X509_NAME *name, const char *rfc2253)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	bool same = false;

	if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(bio, &data)) > 0)
		same = strlen(rfc2253) == (size_t)n &&
		    memcmp(data, rfc2253, (size_t)n) == 0;
	BIO_free(bio);
	return same;
}

/*
 * When a CRL of pki from issuer (RFC 2253) lists serial (hex): the
 * revocationDate; -1 otherwise. OpenSSL's CRL check ignores that date
 * (a listed certificate is revoked at any verification time), so the
 * archive compares it with the signing time itself.
 */
static time_t
archive_revoked_at(const struct pki *pki, const char *issuer,
    const char *serial)
{
	STACK_OF(X509_REVOKED) *rv;
	const ASN1_TIME *t;
	time_t when = -1;
	struct tm tm;
	char *hex;
	BIGNUM *bn;
	int i, j;

	for (i = 0; issuer && serial && i < sk_X509_CRL_num(pki->crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(pki->crls, i);

		if (!archive_name_is(X509_CRL_get_issuer(crl), issuer))
			continue;
		rv = X509_CRL_get_REVOKED(crl);
		for (j = 0; j < sk_X509_REVOKED_num(rv); j++) {
			X509_REVOKED *x = sk_X509_REVOKED_value(rv, j);

			bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(x),
			    NULL);
			hex = bn ? BN_bn2hex(bn) : NULL;
			if (hex != NULL && strcasecmp(hex, serial) == 0 &&
			    (t = X509_REVOKED_get0_revocationDate(x)) != NULL &&
			    ASN1_TIME_to_tm(t, &tm) == 1)
				when = timegm(&tm);
			OPENSSL_free(hex);
			BN_free(bn);
		}
	}
	return when;
}

/* Verifies again without CRLs: the signature as it was before any
 * revocation. The trust anchors alone, as pki.trust_file gives them. */
static enum ar_result
archive_verify_nocrl(const struct conf *c, const char *hdrs,
    struct msgbuf *body, const char *from, time_t when)
{
	struct verify_result res;
	struct conf c2 = *c;
	struct diag d;
	struct pki *p;
	enum ar_result r = AR_TEMPERROR;

	c2.crl_dir = NULL;
	diag_init(&d);
	memset(&res, 0, sizeof(res));
	if ((p = pki_load(&c2, &d)) != NULL &&
	    smime_verify(p, hdrs, body, from, when, &res) == 0)
		r = res.result;
	verify_result_free(&res);
	pki_free(p);
	diag_free(&d);
	return r;
}

/* A copy whose signer's certificate is on a CRL: revoked after the
 * signature (and valid without the CRL) is no fault of the copy. */
static void
archive_revoked(const struct conf *c, const struct pki *pki,
    const struct arec *r, const char *hdrs, struct msgbuf *body,
    const char *from, const struct verify_result *res,
    struct archive_state *st, struct sbuf *out)
{
	time_t at = archive_revoked_at(pki, res->issuer, res->serial);
	char when[32], rev[32];
	struct tm tm;

	gmtime_r(&r->time, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (at != (time_t)-1) {
		gmtime_r(&at, &tm);
		strftime(rev, sizeof(rev), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (at != (time_t)-1 && at > r->time &&
	    archive_verify_nocrl(c, hdrs, body, from, r->time) == AR_PASS) {
		st->revoked_since++;
		sbuf_printf(out, "REVOKED-SINCE %s: signature valid when made "
		    "(%s); certificate %s revoked %s, after it\n", r->rel, when,
		    res->serial, rev);
	} else {
		st->sig_bad++;
		sbuf_printf(out, "BAD-SIGNATURE %s: certificate %s revoked %s, "
		    "not after the signature (%s)\n", r->rel,
		    res->serial ? res->serial : "?",
		    at != (time_t)-1 ? rev : "(date not in the CRLs)", when);
	}
}

/* The signature of an intact copy, as of the time of its record. */
static void
archive_reverify(const struct conf *c, const struct pki *pki,
    const struct arec *r, const char *path, struct archive_state *st,
    bool all, struct sbuf *out)
{
	struct verify_result res;
	struct msgbuf *body = NULL;
	struct sbuf err;
	char *hdrs = NULL, *from, when[32];
	struct tm tm;

	memset(&res, 0, sizeof(res));
	sbuf_init(&err);
	gmtime_r(&r->time, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	from = r->sender ? policy_from_address(r->sender) : NULL;
	if (r->time == (time_t)-1 ||
	    archive_read(c, path, &hdrs, &body, &err) != 0) {
		st->sig_bad++;
		sbuf_printf(out, "BAD-SIGNATURE %s: cannot be read again: %s\n",
		    r->rel, err.s ? err.s : "record has no time");
	} else if (smime_verify(pki, hdrs, body, from, r->time, &res) != 0 ||
	    res.result != AR_PASS) {
		if (res.result == AR_FAIL && res.comment != NULL &&
		    strstr(res.comment, "revoked") != NULL) {
			archive_revoked(c, pki, r, hdrs, body, from, &res, st,
			    out);
		} else {
			st->sig_bad++;
			sbuf_printf(out, "BAD-SIGNATURE %s: not valid at %s: "
			    "%s\n", r->rel, when, res.comment ? res.comment :
			    "internal failure");
		}
	} else {
		st->sig_ok++;
		if (all)
			sbuf_printf(out, "ok %s: signature of %s valid at %s\n",
			    r->rel, res.identifier ? res.identifier : "?",
			    when);
	}
	verify_result_free(&res);
	msgbuf_free(body);
	free(hdrs);
	free(from);
	sbuf_free(&err);
}

/* Each record's file: there, with its hash, and its signature. */
static void
archive_check_records(const struct conf *c, const struct pki *pki,
    const struct acoll *a, bool all, struct archive_state *st,
    struct sbuf *out)
{
	struct sbuf err;
	char hex[65], *path;
	struct stat sb;
	size_t i;

	for (i = 0; i < a->n; i++) {
		const struct arec *r = &a->v[i];

		if (!archive_rel_safe(r->rel)) {
			st->altered++;
			sbuf_printf(out, "ALTERED %s: record %zu names a path "
			    "outside the archive\n", r->rel, r->index);
			continue;
		}
		path = xasprintf("%s/%s", c->archive_dir, r->rel);
		sbuf_init(&err);
		if (stat(path, &sb) != 0 && errno == ENOENT) {
			st->missing++;
			sbuf_printf(out, "MISSING %s (record %zu)\n", r->rel,
			    r->index);
		} else if (archive_sha256(path, hex, &err) != 0 ||
		    strcmp(hex, r->sha) != 0) {
			st->altered++;
			sbuf_printf(out, "ALTERED %s (record %zu): SHA-256 %s, "
			    "recorded %s\n", r->rel, r->index, err.s ? err.s :
			    hex, r->sha);
		} else {
			st->ok++;
			if (pki != NULL && !r->encrypted)
				archive_reverify(c, pki, r, path, st, all, out);
			else if (all && r->encrypted)
				sbuf_printf(out, "ok %s: encrypted by the "
				    "client, bytes as recorded\n", r->rel);
			else if (all)
				sbuf_printf(out, "ok %s\n", r->rel);
		}
		sbuf_free(&err);
		free(path);
	}
}

/* Files in the archive that no record names (half-written .tmp.* are not
 * copies: archive_store() never links them). */
static int
archive_check_files(const char *dir, const struct acoll *a,
    struct archive_state *st, struct sbuf *out, struct sbuf *err)
{
	char *paths[] = { (char *)dir, NULL };
	struct arec key;
	FTSENT *f;
	FTS *fts;
	size_t n = strlen(dir);

	if ((fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL)) == NULL) {
		sbuf_printf(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((f = fts_read(fts)) != NULL) {
		if (f->fts_info == FTS_DNR || f->fts_info == FTS_ERR) {
			sbuf_printf(err, "%s: %s", f->fts_path,
			    strerror(f->fts_errno));
			fts_close(fts);
			return -1;
		}
		if (f->fts_info == FTS_D || f->fts_info == FTS_DP ||
		    strncmp(f->fts_name, ".tmp.", 5) == 0)
			continue;
		key.rel = f->fts_path + n + (f->fts_path[n] == '/');
		if (bsearch(&key, a->v, a->n, sizeof(*a->v), arec_cmp) == NULL) {
			st->unrecorded++;
			sbuf_printf(out, "UNRECORDED %s: in no audit record\n",
			    key.rel);
		}
	}
	fts_close(fts);
	return 0;
}

int
archive_check(const struct conf *c, const struct pki *pki, bool all,
    struct archive_state *st, struct sbuf *out, struct sbuf *err)
{
	struct acoll a;
	int r = -1;

	memset(st, 0, sizeof(*st));
	memset(&a, 0, sizeof(a));
	if (c->audit_file == NULL || c->archive_dir == NULL) {
		sbuf_adds(err, "audit.file and archive.dir must both be set");
		return -1;
	}
	if (audit_walk(c->audit_file, archive_collect, &a, err) != 0)
		goto out;
	st->recorded = (long)a.n;
	if (a.n > 0)
		qsort(a.v, a.n, sizeof(*a.v), arec_cmp);
	archive_check_records(c, pki, &a, all, st, out);
	if (archive_check_files(c->archive_dir, &a, st, out, err) != 0)
		goto out;
	r = 0;
out:
	acoll_free(&a);
	return r;
}

bool
archive_state_bad(const struct archive_state *st)
{
	return st->altered || st->missing || st->unrecorded || st->sig_bad;
}

void
archive_state_line(const char *dir, const struct archive_state *st,
    struct sbuf *out)
{
	sbuf_printf(out, "archive %s: %ld file%s recorded, %ld intact, "
	    "%ld altered, %ld missing, %ld in no record", dir, st->recorded,
	    st->recorded == 1 ? "" : "s", st->ok, st->altered, st->missing,
	    st->unrecorded);
	if (st->sig_ok + st->sig_bad + st->revoked_since > 0)
		sbuf_printf(out, "; signatures valid when made %ld, not valid "
		    "%ld, certificate revoked since %ld", st->sig_ok,
		    st->sig_bad, st->revoked_since);
	sbuf_adds(out, archive_state_bad(st) ? ": NOT INTACT" : ": intact");
}
