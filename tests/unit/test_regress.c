/*
 * test_regress.c - regression tests for what the fuzzers (tests/fuzz/) and
 * the hostile-input tests found. Each input is a file of tests/fuzz/regress/
 * in its fuzz target's format (byte 0: flags; then the content header block,
 * an empty line and the body for fuzz_mime; NUL-separated fields for
 * fuzz_authres, see the fuzz_*.c files), fed to the same function.
 *
 *   authres_escaped_900   authres_format() wrote a line of ~1800 bytes when
 *                         a property (part, issuer, identifier) was full of
 *                         '"' or '\\': the bound was applied before escaping.
 *                         Fixed in milter/authres.c (quoted_len).
 *   mime_8bit_*           raw 8-bit in MIME header fields reached the signed
 *                         entity (fixed in mimeprep, f7f9e38): 7-bit now.
 *   mime_param_encode_oom smime_sign() never returned and allocated without
 *                         bound (GMime's g_mime_param_list_encode looping,
 *                         reached from mimeprep.c headers_make_7bit) on a
 *                         121-byte Content-Type; through the daemon it
 *                         killed segel-milter (t_hostile sub_ct_param_loop).
 *                         Fixed in mimefix (ef01996); must finish in 10 s.
 *   mime_crlf             a bare CR in a preamble or in a header field (also
 *                         of a multipart/signed part, kept otherwise) was
 *                         kept in the signed entity, and a NUL in a preamble
 *                         cut it (fixed in mimeprep): 7-bit CRLF now.
 *   mime_strict           8-bit kept in the delimiter lines of an 8-bit
 *                         boundary (the header got boundary*= RFC 2231, the
 *                         body kept the raw bytes), and 8-bit or a bare CR
 *                         kept in malformed header lines of a message/rfc822
 *                         part (fixed in mimefix, 45daf89 and 84c6c80).
 *   msgctx_header_linear  t_hostile's 20,000 header fields: msgctx_header()
 *                         is quadratic in the number of distinct field names
 *                         (count_name() scans all names seen so far and grows
 *                         its array by one, for every field, though the index
 *                         is used only for Content-* and Authentication-
 *                         Results). 10,000 distinct names (the default
 *                         limits.header_count) cost 196 ms of CPU against
 *                         0.5 ms for 10,000 fields of one name. OPEN: must be
 *                         within 20x the one-name time + 20 ms, for X-* and
 *                         for Content-* names (indexing only Content-* and
 *                         A-R names is not enough: those can be distinct).
 *
 * Run from the repository root (or set SEGEL_SRCDIR); needs the openssl
 * command for the test PKI (tests/fuzz/mkpki).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/pem.h>

#include "authres.h"
#include "conf.h"
#include "diag.h"
#include "msgbuf.h"
#include "msgctx.h"
#include "pki.h"
#include "hp.h"
#include "smime_sign.h"
#include "testlib.h"
#include "util.h"
#include "verify.h"

static char pkidir[] = "/tmp/segel-test-regress.XXXXXX";
static struct cert_entry signer;

/* ---- inputs ---- */

static unsigned char *
input(const char *name, size_t *len)
{
	char *path = xasprintf("%s/tests/fuzz/regress/%s", tl_srcdir(), name);
	unsigned char *buf;
	FILE *fp = fopen(path, "rb");
	long n;

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	buf = xmalloc((size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	free(path);
	*len = (size_t)n;
	return buf;
}

/* ---- authres ---- */

/* Every line of "Authentication-Results:" + v is at most 998 bytes. */
static void
assert_lines_bounded(const char *v)
{
	size_t line = strlen("Authentication-Results:");
	const char *p;

	for (p = v; *p != '\0'; p++) {
		if (*p == '\n')
			line = 0;
		else
			ck_assert_msg(++line <= 998, "line over 998 bytes in %.80s...", v);
	}
}

START_TEST(authres_escaped_900)
{
	size_t n, i;
	unsigned char *d = input("fuzz_authres-escaped-900", &n);
	char *f[7] = { NULL }, *p = (char *)d + 1, *v;
	struct verify_result r;

	for (i = 0; i < 7 && p < (char *)d + n; i++) {
		f[i] = p;
		p += strlen(p) + 1;
	}
	memset(&r, 0, sizeof(r));
	r.result = (enum ar_result)(d[0] % 8);
	r.comment = f[2];
	r.identifier = f[3];
	r.part = f[4];
	r.serial = f[5];
	r.issuer = f[6];
	v = authres_format(f[1], &r);
	assert_lines_bounded(v);
	free(v);
	free(d);
}
END_TEST

/* The same for each property, with the two characters that are escaped. */
START_TEST(authres_escaped_props)
{
	char big[901], *v;
	struct verify_result r;
	int k;

	for (k = 0; k < 2; k++) {
		memset(big, k ? '\\' : '"', 900);
		big[900] = '\0';
		memset(&r, 0, sizeof(r));
		r.result = AR_FAIL;
		r.comment = big;
		r.identifier = big;
		r.part = big;
		r.serial = big;
		r.issuer = big;
		v = authres_format("mail.tanjungpinangkota.go.id", &r);
		assert_lines_bounded(v);
		ck_assert_ptr_nonnull(strstr(v, "smime=fail"));
		free(v);
		big[450] = '\0';	/* 450 escaped = 902: still too long */
		r.issuer = big;
		r.serial = "01AF";
		v = authres_format("mail.tanjungpinangkota.go.id", &r);
		assert_lines_bounded(v);
		ck_assert_ptr_null(strstr(v, "body.smime-serial"));
		free(v);
	}
}
END_TEST

/* ---- signing preparation ---- */

/*
 * Feeds a fuzz_mime input to smime_sign(); returns its result and leaves
 * the new body in *outb (NULL on failure).
 */
static int
sign_input(const char *name, struct msgbuf **outb)
{
	size_t n, i, hlen, boff;
	unsigned char *d = input(name, &n);
	const unsigned char *m = d + 1;
	struct sign_req req;
	struct sign_out out;
	struct sbuf err;
	struct msgbuf *body;
	char *headers, *prot = NULL;
	int r;

	n--;
	hlen = boff = n;
	for (i = 0; i < n; i++) {
		if (i + 3 < n && memcmp(m + i, "\r\n\r\n", 4) == 0) {
			hlen = i + 2;
			boff = i + 4;
			break;
		}
		if (i + 1 < n && memcmp(m + i, "\n\n", 2) == 0) {
			hlen = i + 1;
			boff = i + 2;
			break;
		}
	}
	headers = xstrndup((const char *)m, hlen);
	body = msgbuf_new((d[0] & 1) ? 64 : 1 << 20, NULL);
	if (boff < n)
		ck_assert_int_eq(msgbuf_append(body, m + boff, n - boff), 0);
	memset(&req, 0, sizeof(req));
	memset(&out, 0, sizeof(out));
	req.content_headers = headers;
	req.body = body;
	req.footer = (d[0] & 2) ? NULL : "Dokumen ini ditandatangani secara elektronik";
	req.signer = &signer;
	req.memory_threshold = 1 << 20;
	if (d[0] & 4)		/* RFC 9788 header protection (hp.h) */
		req.protected_headers = prot = hp_collect(headers, NULL);
	sbuf_init(&err);
	r = smime_sign(&req, &out, &err);
	*outb = out.body;
	out.body = NULL;
	sign_out_free(&out);
	sbuf_free(&err);
	msgbuf_free(body);
	free(headers);
	free(prot);
	free(d);
	return r;
}

/* 0 when b is 7-bit and CRLF only; else the offset of the first bad byte + 1. */
static long long
first_bad(struct msgbuf *b)
{
	char buf[4096];
	off_t off = 0;
	ssize_t n, i;
	int prev = '\n';

	while ((n = msgbuf_pread(b, buf, sizeof(buf), off)) > 0) {
		for (i = 0; i < n; i++) {
			int c = (unsigned char)buf[i];

			if (c == 0 || c >= 0x80 || (prev == '\r' && c != '\n') ||
			    (c == '\n' && prev != '\r'))
				return (long long)off + i + 1;
			prev = c;
		}
		off += n;
	}
	return prev == '\r' ? (long long)off : 0;
}

static void
sign_7bit(const char *name)
{
	struct msgbuf *b = NULL;

	ck_assert_int_eq(sign_input(name, &b), 0);
	ck_assert_msg(first_bad(b) == 0, "%s: 8-bit, bare CR/LF or NUL at "
	    "offset %lld of the signed entity", name, first_bad(b) - 1);
	msgbuf_free(b);
}

START_TEST(mime_8bit_filename)
{
	sign_7bit("fuzz_mime-8bit-filename");
}
END_TEST

START_TEST(mime_8bit_part_header)
{
	sign_7bit("fuzz_mime-8bit-part-header");
}
END_TEST

/* issue 13: a protected To with 8-bit in an address: GMime wrote it raw
 * into part 1; now it is encoded-words. */
START_TEST(mime_hp_8bit_address)
{
	sign_7bit("fuzz_mime-hp-8bit-address");
}
END_TEST

/* Must return (either way) within the test's 10 s, in bounded memory. */
START_TEST(mime_param_encode_oom)
{
	struct msgbuf *b = NULL;
#if !defined(__SANITIZE_ADDRESS__)
	struct rlimit rl = { 1024UL << 20, 1024UL << 20 };

	/* so that the bug ends in a failed allocation, not a starved host */
	(void)setrlimit(RLIMIT_DATA, &rl);
#endif
	(void)sign_input("fuzz_mime-param-encode-oom", &b);
	msgbuf_free(b);
}
END_TEST

START_TEST(mime_crlf)
{
	static const char *names[] = { "fuzz_mime-bare-cr-preamble",
	    "fuzz_mime-bare-cr-header", "fuzz_mime-nul-in-preamble",
	    "fuzz_mime-cr-in-signed-type" };

	sign_7bit(names[_i]);
}
END_TEST

START_TEST(mime_strict)
{
	static const char *names[] = { "fuzz_mime-strict-8bit-boundary",
	    "fuzz_mime-strict-rfc822-8bit", "fuzz_mime-strict-rfc822-bare-cr" };

	sign_7bit(names[_i]);
}
END_TEST

/* ---- header bookkeeping ---- */

static double
cpu_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* CPU milliseconds for n header fields: all named PREFIX, or PREFIX-i. */
static double
headers_ms(int n, const char *prefix, bool distinct)
{
	struct conf c;
	struct msgctx *m;
	char name[32];
	double t0;
	int i;

	memset(&c, 0, sizeof(c));
	c.max_headers = (size_t)n;
	c.max_header_bytes = 64 << 20;
	c.max_message_size = 64 << 20;
	c.memory_threshold = 1 << 20;
	m = msgctx_new(&c);
	t0 = cpu_ms();
	for (i = 0; i < n; i++) {
		if (distinct)
			snprintf(name, sizeof(name), "%s-%d", prefix, i);
		else
			snprintf(name, sizeof(name), "%s", prefix);
		msgctx_header(m, &c, name, "nilai", "mail.tanjungpinangkota.go.id");
	}
	t0 = cpu_ms() - t0;
	msgctx_free(m);
	return t0;
}

START_TEST(msgctx_header_linear)
{
	static const char *prefix[] = { "X-Isian", "Content-Isian" };
	double same, distinct;

	(void)headers_ms(1000, prefix[_i], true);	/* warm up */
	same = headers_ms(10000, prefix[_i], false);
	distinct = headers_ms(10000, prefix[_i], true);
	ck_assert_msg(distinct <= 20 * same + 20,
	    "10,000 distinct header names %s-N: %.1f ms of CPU, one name: "
	    "%.1f ms (quadratic: msgctx.c count_name)", prefix[_i], distinct,
	    same);
}
END_TEST

/* ---- set-up ---- */

static void *
load_pem(const char *name, int key)
{
	char *path = xasprintf("%s/%s", pkidir, name);
	FILE *fp = fopen(path, "r");
	void *x = NULL;

	if (fp != NULL) {
		x = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, (void *)"") :
		    (void *)PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	free(path);
	return x;
}

/* ---- verify ---- */

/*
 * fuzz_verify: OpenSSL 3.0's CMS_verify copies a memory BIO given as the
 * content and leaked the copy when CMS_dataInit failed; verify.c now gives
 * it a BIO of its own type. The leak shows under make check-sanitize
 * (LeakSanitizer); here the input must give a verdict.
 */
START_TEST(verify_cms_membio_leak)
{
	size_t n;
	unsigned char *d = input("fuzz_verify-cms-membio-leak", &n);
	const char *sep = strstr((const char *)d + 1, "\r\n\r\n");
	struct msgbuf *body = msgbuf_new(1 << 20, NULL);
	struct verify_result res;
	struct diag dg;
	struct conf cf;
	struct pki *pki;
	char *headers;

	ck_assert_ptr_nonnull(sep);
	memset(&cf, 0, sizeof(cf));
	cf.path = "regress";
	cf.trust_file = xasprintf("%s/trust.pem", pkidir);
	diag_init(&dg);
	ck_assert_ptr_nonnull((pki = pki_load(&cf, &dg)));
	headers = xstrndup((const char *)d + 1, (size_t)(sep + 2 - (const char *)d - 1));
	ck_assert_int_eq(msgbuf_append(body, sep + 4, n - (size_t)(sep + 4 -
	    (const char *)d)), 0);
	(void)smime_verify(pki, headers, body, "fuzz@example.org", time(NULL),
	    &res);
	ck_assert_int_ne(res.result, AR_NONE);
	ck_assert_int_ne(res.result, AR_PASS);
	verify_result_free(&res);
	msgbuf_free(body);
	free(headers);
	pki_free(pki);
	diag_free(&dg);
	free(cf.trust_file);
	free(d);
}
END_TEST

static int
setup_pki(void)
{
	char *cmd;
	int rc;

	if (mkdtemp(pkidir) == NULL)
		return -1;
	cmd = xasprintf("'%s/tests/fuzz/mkpki' '%s' >/dev/null 2>&1", tl_srcdir(),
	    pkidir);
	rc = system(cmd);
	free(cmd);
	if (rc != 0)
		return -1;
	signer.cert = load_pem("signer.pem", 0);
	signer.key = load_pem("signer.key", 1);
	signer.chain = sk_X509_new_null();
	signer.address = xstrdup("fuzz@example.org");
	signer.status = CERT_OK;
	return signer.cert != NULL && signer.key != NULL ? 0 : -1;
}

static void
cleanup_pki(void)
{
	tl_rmtree(pkidir);
	X509_free(signer.cert);
	EVP_PKEY_free(signer.key);
	sk_X509_pop_free(signer.chain, X509_free);
	free(signer.address);
}

int
main(void)
{
	Suite *s = suite_create("regress");
	TCase *tc = tcase_create("core"), *slow = tcase_create("bounded");
	int rc;

	if (setup_pki() != 0) {
		fprintf(stderr, "test_regress: cannot make the test PKI with "
		    "tests/fuzz/mkpki (run from the repository root)\n");
		return EXIT_FAILURE;
	}
	g_mime_init();
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, authres_escaped_900);
	tcase_add_test(tc, authres_escaped_props);
	tcase_add_test(tc, mime_8bit_filename);
	tcase_add_test(tc, mime_8bit_part_header);
	tcase_add_test(tc, mime_hp_8bit_address);
	tcase_add_loop_test(tc, mime_crlf, 0, 4);
	tcase_add_loop_test(tc, mime_strict, 0, 3);
	tcase_add_test(tc, verify_cms_membio_leak);
	suite_add_tcase(s, tc);
	tcase_set_timeout(slow, 20);
	tcase_add_test(slow, mime_param_encode_oom);
	tcase_add_loop_test(slow, msgctx_header_linear, 0, 2);
	suite_add_tcase(s, slow);
	rc = tl_run(s);
	cleanup_pki();
	return rc;
}
