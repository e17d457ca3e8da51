/*
 * test_corpus.c - every message of the shared corpus (../shared/corpus or
 * $SEGEL_CORPUS, relative to the repository root) whose MANIFEST.tsv row
 * asserts an outcome goes through smime_verify with the row's CA file as
 * the only trust anchors; the result is compared with the mapping
 *
 *   valid -> pass, invalid-signature -> fail, sha1-policy-reject -> policy,
 *   signer-mismatch -> policy, time-mismatch(policy) -> policy,
 *   encrypted... -> skip,
 *
 * except where segel deliberately differs from the manifest (the client's
 * own policy, or a structure segel does not treat as covering the message):
 * those rows are listed in `diffs` below with the reason, checked against
 * segel's documented result, and printed as "DIFF (documented)". Unasserted
 * rows are printed as SKIP with the manifest's reason.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "authres.h"
#include "msgbuf.h"
#include "pki.h"
#include "testlib.h"
#include "util.h"
#include "verify.h"

/* Thunderbird test identities are valid 2026-01-26 .. 2031-01-26. */
#define CORPUS_NOW	((time_t)1780000000)	/* 2026-05-28 */

struct diff {
	const char *file;
	enum ar_result segel;
	const char *why;
	const char *comment;	/* segel's comment contains it, when set */
};

static const struct diff diffs[] = {
	{ "thunderbird-signed.eml", AR_POLICY,
	  "Thunderbird 24 signed with SHA-1; at its signing time the chain is "
	  "valid and the signature matches, but segel's policy rejects SHA-1 "
	  "digests (RFC 8551 §2.1: SHA-1 is historic)", "weak digest SHA-1" },
	{ "browser-smime-data/alice.dsig.SHA256.multipart.in.mixed.with.header.eml",
	  AR_NONE,
	  "the signed part is the second part of multipart/mixed, after an "
	  "unsigned header part: it does not cover what the reader sees first, "
	  "so segel reports no signature for the message (only a signed first "
	  "part, as with a list footer, counts)", NULL },
	{ "browser-smime-data/multipart-alternative.eml", AR_NONE,
	  "an attack sample: enveloped parts inside multipart/alternative. Only "
	  "a top-level encryption (or one that is the signed content) covers the "
	  "message; nothing here is signed, so segel says none, not skip", NULL },
	{ "smime/alice.future.dsig.SHA256.multipart.eml", AR_PASS,
	  "Thunderbird compares signingTime with the Date header (> 1 h apart); "
	  "segel does not: Date is not signed and signingTime is only as "
	  "trustworthy as the sender (RFC 8551 §2.5.1), the signature is valid", NULL },
	/* nested signatures: segel judges the outermost signature only */
	{ "smime/alice.plain.dsig.SHA256.multipart.dave.dsig.SHA256.multipart.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; Thunderbird also judges "
	  "the inner Alice signature against From, segel reports the outer one", NULL },
	{ "smime/alice.plain.dsig.SHA256.multipart.dave.sig.SHA256.opaque.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; inner Alice signature not judged", NULL },
	{ "smime/alice.plain.dsig.SHA384.multipart.dave.dsig.SHA384.multipart.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; inner Alice signature not judged", NULL },
	{ "smime/alice.plain.dsig.SHA384.multipart.dave.sig.SHA384.opaque.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; inner Alice signature not judged", NULL },
	{ "smime/alice.plain.dsig.SHA512.multipart.dave.dsig.SHA512.multipart.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; inner Alice signature not judged", NULL },
	{ "smime/alice.plain.dsig.SHA512.multipart.dave.sig.SHA512.opaque.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; inner Alice signature not judged", NULL },
	{ "smime/alice.plain.sig.SHA256.opaque.dave.dsig.SHA256.multipart.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; inner Alice signature not judged", NULL },
	{ "smime/alice.plain.sig.SHA384.opaque.dave.dsig.SHA384.multipart.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; inner Alice signature not judged", NULL },
	{ "smime/alice.plain.sig.SHA512.opaque.dave.dsig.SHA512.multipart.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; inner Alice signature not judged", NULL },
	{ "smime/alice.env.dsig.SHA256.multipart.dave.sig.SHA256.opaque.eml", AR_PASS,
	  "the outer opaque signature by Dave (= From) is valid; the invalid "
	  "inner signature (Alice's, over encrypted content) is not judged", NULL },
	{ "smime/alice.env.dsig.SHA384.multipart.dave.sig.SHA384.opaque.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; invalid inner one not judged", NULL },
	{ "smime/alice.env.dsig.SHA512.multipart.dave.sig.SHA512.opaque.eml", AR_PASS,
	  "outer signature by Dave (= From) is valid; invalid inner one not judged", NULL },
};

struct row {
	char *dir;		/* the manifest's folder */
	char *file, *outcome, *ca;
};

static struct row *rows;
static int nrows;
static char *corpus;

static const char *
rname(int r)
{
	return r == AR_SKIP ? "skip" : ar_result_name((enum ar_result)r);
}

static const struct diff *
find_diff(const char *file)
{
	size_t i;

	for (i = 0; i < sizeof(diffs) / sizeof(diffs[0]); i++)
		if (strcmp(diffs[i].file, file) == 0)
			return &diffs[i];
	return NULL;
}

/* The manifest's outcome words as an RFC 7281 result; -1: unasserted. */
static int
expected(const char *o)
{
	if (strncmp(o, "unasserted", 10) == 0)
		return -1;
	if (strncmp(o, "encrypted", 9) == 0)
		return AR_SKIP;
	if (strncmp(o, "invalid-signature", 17) == 0)
		return AR_FAIL;
	if (strncmp(o, "sha1-policy-reject", 18) == 0 ||
	    strncmp(o, "signer-mismatch", 15) == 0 ||
	    strcmp(o, "time-mismatch(policy)") == 0)
		return AR_POLICY;
	if (strncmp(o, "valid", 5) == 0)
		return AR_PASS;
	return -2;
}

/* "valid at signing time (2013-11-02T20:28:04Z)...": that time. */
static time_t
row_time(const char *o)
{
	const char *p = strstr(o, "signing time (");
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (p == NULL || strptime(p + 14, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return CORPUS_NOW;
	return timegm(&tm);
}

/* Trust anchors from "A.pem (note) + B.pem (note)"; "-": none. */
static struct pki *
row_pki(const struct row *r)
{
	struct pki *p = xcalloc(1, sizeof(*p));
	char *spec = xstrdup(r->ca), *tok, *save = NULL, *path, *sp;

	p->store = X509_STORE_new();
	X509_STORE_set_purpose(p->store, X509_PURPOSE_SMIME_SIGN);
	for (tok = strtok_r(spec, "+", &save); tok != NULL;
	    tok = strtok_r(NULL, "+", &save)) {
		tok += strspn(tok, " ");
		if ((sp = strchr(tok, ' ')) != NULL)
			*sp = '\0';
		if (strcmp(tok, "-") == 0 || *tok == '\0')
			continue;
		path = xasprintf("%s/%s/%s", corpus, r->dir, tok);
		ck_assert_msg(X509_STORE_load_file(p->store, path) == 1,
		    "cannot load %s", path);
		free(path);
	}
	free(spec);
	ERR_clear_error();
	return p;
}

static char *
from_of(const char *headers)
{
	const char *p = headers;
	char *line, *eol, *a;

	for (; *p != '\0'; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			return NULL;
		if (strncasecmp(p, "From:", 5) == 0) {
			line = xstrndup(p + 5, (size_t)(eol - p - 5));
			a = addr_normalize(line);
			free(line);
			return a;
		}
	}
	return NULL;
}

static void
verify_file(const char *path, const struct pki *p, time_t now,
    struct verify_result *res)
{
	gchar *msg = NULL, *sep, *headers, *from;
	gsize n;
	struct msgbuf *mb = msgbuf_new(1 << 20, NULL);

	ck_assert_msg(g_file_get_contents(path, &msg, &n, NULL), "read %s", path);
	if ((sep = strstr(msg, "\n\n")) != NULL)
		sep += 2;
	else if ((sep = strstr(msg, "\n\r\n")) != NULL)
		sep += 3;
	else
		sep = msg + n;
	headers = xstrndup(msg, (size_t)(sep - msg));
	from = from_of(headers);
	msgbuf_append(mb, sep, n - (size_t)(sep - msg));
	ck_assert_int_ge(smime_verify(p, headers, mb, from, now, res), -1);
	free(from);
	free(headers);
	msgbuf_free(mb);
	g_free(msg);
}

START_TEST(test_row)
{
	const struct row *r = &rows[_i];
	const struct diff *d = find_diff(r->file);
	struct verify_result res;
	struct pki *p;
	char *path;
	int want = expected(r->outcome);

	ck_assert_msg(want != -2, "%s: unknown outcome \"%s\"", r->file, r->outcome);
	p = row_pki(r);
	path = xasprintf("%s/%s/%s", corpus, r->dir, r->file);
	verify_file(path, p, row_time(r->outcome), &res);
	if (want == -1) {
		printf("SKIP: corpus %s/%s: %s (segel says %s%s%s%s)\n", r->dir,
		    r->file, r->outcome, rname(res.result),
		    res.comment ? ": " : "", res.comment ? res.comment : "", "");
	} else if (d != NULL) {
		ck_assert_msg(d->comment == NULL || (res.comment != NULL &&
		    strstr(res.comment, d->comment) != NULL),
		    "%s: comment \"%s\", documented \"%s\"", r->file,
		    res.comment ? res.comment : "", d->comment);
		ck_assert_msg(res.result == d->segel,
		    "%s: segel %s (%s), documented difference says %s", r->file,
		    rname(res.result), res.comment ? res.comment : "",
		    rname(d->segel));
		printf("DIFF (documented): corpus %s: manifest \"%s\", segel %s (%s): %s\n",
		    r->file, r->outcome, rname(res.result),
		    res.comment ? res.comment : "", d->why);
	} else {
		ck_assert_msg((int)res.result == want,
		    "%s: manifest \"%s\" = %s, segel %s (%s)", r->file,
		    r->outcome, rname(want), rname(res.result),
		    res.comment ? res.comment : "");
		printf("ok: corpus %s: \"%s\" -> %s (%s)\n", r->file, r->outcome,
		    rname(res.result), res.comment ? res.comment : "");
	}
	fflush(stdout);
	verify_result_free(&res);
	pki_free(p);
	free(path);
}
END_TEST

/*
 * The time rule on a real message: the Thunderbird 24 signature of 2013
 * is judged at the arrival time given. Its certificate expired 2014-11-01,
 * far more than the 7-day grace after signing: "certificate expired".
 */
START_TEST(test_thunderbird_later)
{
	struct row r = { "mimekit", "thunderbird-signed.eml", "",
	    "StartComCertificationAuthority.pem + StartComClass1PrimaryIntermediateClientCA.pem" };
	struct verify_result res;
	struct pki *p;
	char *path = xasprintf("%s/mimekit/%s", corpus, r.file);
	time_t when[] = { 1415232000 /* 2014-11-06 */, CORPUS_NOW };
	size_t i;

	if (access(path, R_OK) != 0) {
		printf("SKIP: corpus mimekit/thunderbird-signed.eml: absent\n");
		free(path);
		return;
	}
	p = row_pki(&r);
	for (i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
		verify_file(path, p, when[i], &res);
		ck_assert_msg(res.result == AR_FAIL && res.comment != NULL &&
		    strcmp(res.comment, "certificate expired") == 0,
		    "at %lld: %s (%s)", (long long)when[i],
		    rname(res.result), res.comment ? res.comment : "");
		verify_result_free(&res);
	}
	/* three days after signing the chain is valid: SHA-1 is the issue */
	verify_file(path, p, 1383424084 + 3 * 86400, &res);
	ck_assert_int_eq(res.result, AR_POLICY);
	ck_assert_str_eq(res.identifier, "fejj@gnome.org");
	verify_result_free(&res);
	pki_free(p);
	free(path);
}
END_TEST

START_TEST(test_absent)
{
	printf("SKIP: corpus: folder not found (set SEGEL_CORPUS or put it at ../shared/corpus)\n");
}
END_TEST

static void
load_manifest(const char *dir)
{
	char *path = xasprintf("%s/%s/MANIFEST.tsv", corpus, dir), line[8192];
	char *f[4], *save, *t;
	FILE *fp = fopen(path, "r");
	int i;

	free(path);
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		save = NULL;
		for (i = 0, t = strtok_r(line, "\t", &save); i < 4 && t != NULL;
		    i++, t = strtok_r(NULL, "\t", &save))
			f[i] = t;
		if (i < 3 || strcmp(f[0], "file") == 0)
			continue;
		rows = xreallocarray(rows, (size_t)nrows + 1, sizeof(*rows));
		rows[nrows].dir = xstrdup(dir);
		rows[nrows].file = xstrdup(f[0]);
		rows[nrows].outcome = xstrdup(f[1]);
		rows[nrows].ca = xstrdup(f[2]);
		nrows++;
	}
	fclose(fp);
}

int
main(void)
{
	Suite *s = suite_create("corpus");
	TCase *tc = tcase_create("manifest");
	const char *env = getenv("SEGEL_CORPUS");
	GDir *gd;
	const char *name;
	int rc;

	corpus = xstrdup(env != NULL && *env != '\0' ? env : "../shared/corpus");
	g_mime_init();
	if ((gd = g_dir_open(corpus, 0, NULL)) != NULL) {
		while ((name = g_dir_read_name(gd)) != NULL)
			load_manifest(name);
		g_dir_close(gd);
	}
	if (nrows > 0) {
		tcase_add_loop_test(tc, test_row, 0, nrows);
		tcase_add_test(tc, test_thunderbird_later);
	} else
		tcase_add_test(tc, test_absent);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	g_mime_shutdown();
	return rc;
}
