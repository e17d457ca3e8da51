/*
 * test_records.c - issue 13 parts 3 and 4 without Postfix: audit records
 * that name an archive file (written, parsed back, the chain intact),
 * archive_check() against edited, deleted, added and wrongly named files,
 * RFC 3161 tokens made by `openssl ts -reply` with the test PKI's TSA
 * (tsa_check: valid, untrusted, not base64, cut short), stamps in a chain
 * (covering, over another head, after a rewrite) and tsa_stamp() with no
 * TSA listening.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "archive.h"
#include "archive_check.h"
#include "audit.h"
#include "audit_stamp.h"
#include "audit_walk.h"
#include "testlib.h"
#include "tsa.h"
#include "util.h"

static char pkidir[] = "/tmp/segel-test-records-pki.XXXXXX";
static char dir[] = "/tmp/segel-test-records.XXXXXX";

/* A fresh folder for one test under dir; returns its path (static: the
 * test's own, not one of tl_path's rotating buffers). */
static const char *
fresh(const char *name)
{
	static char d[1024];

	snprintf(d, sizeof(d), "%s/%s", dir, name);
	tl_sh("rm -rf '%s' && mkdir -p '%s/archive'", d, d);
	return d;
}

/* The openssl ts configuration of the test TSA (or the outside one). */
static void
tsa_conf(const char *d, const char *who)
{
	char *text = xasprintf("[ tsa ]\ndefault_tsa = t\n[ t ]\n"
	    "serial = %s/serial\ncrypto_device = builtin\n"
	    "signer_cert = %s/%s/tsa.pem\nsigner_key = %s/%s/tsa.key\n"
	    "signer_digest = sha256\ndefault_policy = 1.3.6.1.4.1.99999.1\n"
	    "digests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n",
	    d, pkidir, who, pkidir, who);

	tl_write(d, "tsa.cnf", text);
	tl_write(d, "serial", "01\n");
	free(text);
}

/* A token (base64, caller frees) by TSA who ("tsa", "outside") over hex. */
static char *
token_over(const char *d, const char *who, const char *hex)
{
	size_t n;
	char *b64;

	tsa_conf(d, who);
	tl_sh("cd '%s' && openssl ts -query -digest %s -sha256 -cert -out q.tsq "
	    "2>/dev/null && openssl ts -reply -config tsa.cnf -queryfile q.tsq "
	    "-token_out -out tok.der 2>/dev/null && base64 -w0 tok.der > tok.b64",
	    d, hex);
	b64 = tl_slurp(tl_path(d, "tok.b64"), &n);
	ck_assert_ptr_nonnull(b64);
	return b64;
}

/* One record into log, with x (may be NULL). */
static void
rec(const char *log, const char *event, const struct audit_extra *x)
{
	struct audit_rec r;
	struct sbuf err;
	struct audit *a;

	memset(&r, 0, sizeof(r));
	r.event = event;
	r.role = "outbound";
	r.sender = "Alice <alice@tanjungpinangkota.go.id>";
	r.result = "signed";
	sbuf_init(&err);
	ck_assert_ptr_nonnull(a = audit_open(log, &err));
	ck_assert_int_eq(audit_write_ext(a, &r, x), 0);
	audit_close(a);
	sbuf_free(&err);
}

/* The chain's head of log as hex. */
static void
head_of(const char *log, char hex[65])
{
	struct sbuf err;
	struct audit *a;

	sbuf_init(&err);
	ck_assert_ptr_nonnull(a = audit_open(log, &err));
	ck_assert_int_eq(audit_head(a, hex), 0);
	audit_close(a);
	sbuf_free(&err);
}

START_TEST(extra_fields_roundtrip)
{
	const char *d = fresh("roundtrip");
	char *log = xstrdup(tl_path(d, "audit.log"));
	struct audit_extra x = { "2026/12/03/a.eml", "ab12", NULL, NULL };
	struct audit_entry e;
	struct sbuf err;
	char *text;
	size_t n;

	rec(log, "reload", NULL);
	rec(log, "sign", &x);
	text = tl_slurp(log, &n);
	ck_assert_ptr_nonnull(strstr(text, "\"archive\":\"2026/12/03/a.eml\","
	    "\"archive_sha256\":\"ab12\",\"prev\":"));
	/* the first record has no archive key at all */
	ck_assert_ptr_null(memmem(text, (size_t)(strchr(text, '\n') - text),
	    "archive", 7));
	ck_assert_int_eq(audit_parse(strchr(text, '\n') + 1,
	    strlen(strchr(text, '\n') + 1) - 1, &e), 0);
	ck_assert_str_eq(e.archive, "2026/12/03/a.eml");
	ck_assert_str_eq(e.archive_sha256, "ab12");
	audit_entry_free(&e);
	sbuf_init(&err);
	ck_assert_int_eq(audit_verify(log, NULL, &err), 0);
	sbuf_free(&err);
	free(text);
	free(log);
}
END_TEST

START_TEST(sha256_of_file)
{
	const char *d = fresh("sha");
	struct sbuf err;
	char hex[65];

	tl_write(d, "abc", "abc");
	sbuf_init(&err);
	ck_assert_int_eq(archive_sha256(tl_path(d, "abc"), hex, &err), 0);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(archive_sha256(tl_path(d, "none"), hex, &err), -1);
	ck_assert_str_eq(archive_relative("/a/b/", "/a/b/2026/x.eml"),
	    "2026/x.eml");
	ck_assert_str_eq(archive_relative("/a/b", "/a/bc/x.eml"),
	    "/a/bc/x.eml");
	sbuf_free(&err);
}
END_TEST

/* A conf for archive_check: only the fields it reads. */
static struct conf *
check_conf(const char *d)
{
	struct conf *c = xcalloc(1, sizeof(*c));

	c->audit_file = xstrdup(tl_path(d, "audit.log"));
	c->archive_dir = xstrdup(tl_path(d, "archive"));
	c->tmp_dir = xstrdup(d);
	c->memory_threshold = 65536;
	return c;
}

static void
check_conf_free(struct conf *c)
{
	free(c->audit_file);
	free(c->archive_dir);
	free(c->tmp_dir);
	free(c);
}

/* Archives NAME with TEXT and records it. */
static void
archived(const char *d, const char *name, const char *text)
{
	struct audit_extra x = { name, NULL, NULL, NULL };
	struct sbuf err;
	char hex[65];

	tl_write(tl_path(d, "archive"), name, text);
	sbuf_init(&err);
	ck_assert_int_eq(archive_sha256(tl_path(d, "archive/%s", name), hex,
	    &err), 0);
	x.archive_sha256 = hex;
	rec(tl_path(d, "audit.log"), "sign", &x);
	sbuf_free(&err);
}

START_TEST(archive_check_finds_each_change)
{
	const char *d = fresh("check");
	struct conf *c = check_conf(d);
	struct archive_state st;
	struct audit_extra evil = { "../../etc/passwd", "00", NULL, NULL };
	struct sbuf out, err;

	archived(d, "a.eml", "A: 1\r\n\r\nbody a\r\n");
	archived(d, "b.eml", "A: 1\r\n\r\nbody b\r\n");
	archived(d, "c.eml", "A: 1\r\n\r\nbody c\r\n");
	tl_write(tl_path(d, "archive"), ".tmp.Q1.abcdef", "half");
	sbuf_init(&out);
	sbuf_init(&err);
	ck_assert_int_eq(archive_check(c, NULL, true, &st, &out, &err), 0);
	ck_assert_int_eq(st.recorded, 3);
	ck_assert_int_eq(st.ok, 3);
	ck_assert(!archive_state_bad(&st));
	sbuf_free(&out);
	tl_write(tl_path(d, "archive"), "a.eml", "A: 1\r\n\r\nbody A\r\n");
	tl_sh("rm '%s/archive/b.eml'", d);
	tl_write(tl_path(d, "archive"), "d.eml", "A: 1\r\n\r\nbody d\r\n");
	rec(tl_path(d, "audit.log"), "sign", &evil);
	ck_assert_int_eq(archive_check(c, NULL, false, &st, &out, &err), 0);
	ck_assert_int_eq(st.recorded, 4);
	ck_assert_int_eq(st.ok, 1);
	ck_assert_int_eq(st.altered, 2);	/* a.eml, the path outside */
	ck_assert_int_eq(st.missing, 1);
	ck_assert_int_eq(st.unrecorded, 1);
	ck_assert(archive_state_bad(&st));
	ck_assert_ptr_nonnull(strstr(out.s, "ALTERED a.eml"));
	ck_assert_ptr_nonnull(strstr(out.s, "MISSING b.eml"));
	ck_assert_ptr_nonnull(strstr(out.s, "UNRECORDED d.eml"));
	ck_assert_ptr_nonnull(strstr(out.s, "outside the archive"));
	ck_assert_ptr_null(strstr(out.s, ".tmp."));
	sbuf_free(&out);
	sbuf_free(&err);
	check_conf_free(c);
}
END_TEST

START_TEST(token_checks)
{
	const char *d = fresh("token");
	const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	unsigned char imp[32];
	struct sbuf err;
	time_t gen, now = time(NULL);
	char *tok, *outside, *cut;

	tok = token_over(d, "tsa", hex);
	sbuf_init(&err);
	ck_assert_msg(tsa_check(tl_path(pkidir, "tsa/ca.pem"), tok, imp, &gen,
	    &err) == 0, "%s", err.s);
	ck_assert(gen >= now - 60 && gen <= now + 60);
	ck_assert_int_eq(imp[0], 0x00);
	ck_assert_int_eq(imp[31], 0xff);
	/* another trust file: the TSA is not under it */
	ck_assert_int_eq(tsa_check(tl_path(pkidir, "trust.pem"), tok, imp,
	    &gen, &err), -1);
	outside = token_over(d, "outside", hex);
	ck_assert_int_eq(tsa_check(tl_path(pkidir, "tsa/ca.pem"), outside, imp,
	    &gen, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.s, "does not verify"));
	ck_assert_int_eq(tsa_check(tl_path(pkidir, "tsa/ca.pem"), "%%%%",
	    imp, &gen, &err), -1);
	cut = xstrndup(tok, strlen(tok) / 2 / 4 * 4);
	ck_assert_int_eq(tsa_check(tl_path(pkidir, "tsa/ca.pem"), cut, imp,
	    &gen, &err), -1);
	free(cut);
	free(outside);
	free(tok);
	sbuf_free(&err);
}
END_TEST

/* A stamp record over head hex by TSA who, appended to log. */
static void
stamp(const char *d, const char *log, const char *who, const char *hex)
{
	char *tok = token_over(d, who, hex);
	struct audit_extra x = { NULL, NULL, "2026-01-01T00:00:00Z", tok };

	rec(log, "stamp", &x);
	free(tok);
}

START_TEST(stamps_in_chain)
{
	const char *d = fresh("stamps");
	char *log = xstrdup(tl_path(d, "audit.log"));
	char *trust = xstrdup(tl_path(pkidir, "tsa/ca.pem"));
	struct audit_extra x = { "a.eml", "00", NULL, NULL };
	struct stamp_state st;
	struct sbuf out, err;
	char head[65];

	rec(log, "reload", NULL);
	rec(log, "sign", &x);
	head_of(log, head);
	stamp(d, log, "tsa", head);
	x.archive = "b.eml";
	rec(log, "sign", &x);
	sbuf_init(&out);
	sbuf_init(&err);
	ck_assert_int_eq(audit_stamps_check(log, trust, &st, &out, &err), 0);
	ck_assert_int_eq(st.stamps, 1);
	ck_assert_int_eq(st.bad, 0);
	ck_assert_int_eq(st.archived, 2);
	ck_assert_int_eq(st.covered, 1);
	ck_assert_ptr_nonnull(strstr(out.s, "covers records 1..2"));
	ck_assert_ptr_nonnull(strstr(out.s, "stamped a.eml (record 2"));
	ck_assert_ptr_nonnull(strstr(out.s, "unstamped b.eml (record 4"));
	sbuf_free(&out);
	/* no trust file: stamps cannot count as checked */
	ck_assert_int_eq(audit_stamps_check(log, NULL, &st, &out, &err), 0);
	ck_assert_int_eq(st.bad, 1);
	sbuf_free(&out);
	/* a token over another head */
	stamp(d, log, "tsa", "ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	ck_assert_int_eq(audit_stamps_check(log, trust, &st, &out, &err), 0);
	ck_assert_int_eq(st.stamps, 2);
	ck_assert_int_eq(st.bad, 1);
	ck_assert_ptr_nonnull(strstr(out.s, "is not the chain's head"));
	sbuf_free(&out);
	/* the first record changed and the chain re-linked: stamp 1 fails */
	tl_sh("python3 '%s/tests/e2e/audit_tool.py' rewrite '%s'", tl_srcdir(),
	    log);
	ck_assert_int_eq(audit_verify(log, NULL, &err), 0);
	ck_assert_int_eq(audit_stamps_check(log, trust, &st, &out, &err), 0);
	ck_assert_int_eq(st.bad, 2);
	ck_assert_int_eq(st.covered, 0);
	sbuf_free(&out);
	sbuf_free(&err);
	free(log);
	free(trust);
}
END_TEST

START_TEST(stamp_without_tsa)
{
	unsigned char head[32] = { 1 };
	struct sbuf err;
	char *tok = NULL;
	time_t gen;
	int unreach = 0;

	sbuf_init(&err);
	ck_assert_int_eq(tsa_stamp("http://127.0.0.1:1/tsa",
	    tl_path(pkidir, "tsa/ca.pem"), head, 2000, &tok, &gen, &unreach,
	    &err), -1);
	ck_assert_int_eq(unreach, 1);
	ck_assert_ptr_null(tok);
	ck_assert_ptr_nonnull(strstr(err.s, "127.0.0.1:1"));
	sbuf_free(&err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("records");
	TCase *tc = tcase_create("core");
	int rc;

	if (mkdtemp(dir) == NULL || mkdtemp(pkidir) == NULL ||
	    tl_gen_pki(pkidir, "tsa/tsa.pem") != 0)
		return 1;
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, extra_fields_roundtrip);
	tcase_add_test(tc, sha256_of_file);
	tcase_add_test(tc, archive_check_finds_each_change);
	tcase_add_test(tc, token_checks);
	tcase_add_test(tc, stamps_in_chain);
	tcase_add_test(tc, stamp_without_tsa);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	tl_rmtree(dir);
	tl_rmtree(pkidir);
	return rc;
}
