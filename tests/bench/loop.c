/*
 * tests/bench/loop.c - the cost of segel's crypto paths without the daemon,
 * for the benchmark (tests/bench/run) and for profiling (callgrind, perf).
 *
 *   loop rsa    PKI N            bare RSA-2048 SHA-256 signature (alice's key)
 *   loop cms    PKI MSG N        OpenSSL CMS_sign alone over the message body
 *                                (detached, binary, chain): no MIME work
 *   loop sign   PKI MSG N        smime_sign() as the daemon calls it
 *   loop verify PKI MSG N        smime_verify() of a signed message (must pass)
 *
 * PKI is a folder made by tests/pki/gen; MSG a message file (LF or CRLF).
 * Prints one line: "MODE n=N cpu_us_per_op=X wall_us_per_op=Y" (process CPU
 * time, user + system, from CLOCK_PROCESS_CPUTIME_ID).  Exit 1 on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gmime/gmime.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "certstore.h"
#include "conf.h"
#include "diag.h"
#include "msgbuf.h"
#include "pki.h"
#include "smime_sign.h"
#include "util.h"
#include "verify.h"

#define SIGNER "alice@tanjungpinangkota.go.id"
#define PARTNER "sari@kepriprov.go.id"

struct msg {
	char *headers;		/* whole header block, CRLF lines */
	char *content;		/* the Content-* fields only, CRLF lines */
	char *body;		/* CRLF */
	size_t body_len;
};

static double
now_us(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void
die(const char *what)
{
	fprintf(stderr, "loop: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static char *
slurp_crlf(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct sbuf in, out;
	char buf[65536];
	size_t n, i;

	if (fp == NULL)
		die(path);
	sbuf_init(&in);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_add(&in, buf, n);
	fclose(fp);
	sbuf_init(&out);
	for (i = 0; i < in.len; i++) {
		if (in.s[i] == '\n' && (i == 0 || in.s[i - 1] != '\r'))
			sbuf_add(&out, "\r", 1);
		sbuf_add(&out, in.s + i, 1);
	}
	sbuf_free(&in);
	*len = out.len;
	return sbuf_steal(&out);
}

static void
read_msg(const char *path, struct msg *m)
{
	size_t len, hlen;
	char *all = slurp_crlf(path, &len), *end, *p, *eol;
	struct sbuf ct;
	int keep = 0;

	end = strstr(all, "\r\n\r\n");
	if (end == NULL)
		die("no end of headers");
	hlen = (size_t)(end - all) + 2;
	m->headers = xstrndup(all, hlen);
	m->body_len = len - hlen - 2;
	m->body = xmalloc(m->body_len + 1);
	memcpy(m->body, end + 4, m->body_len);
	m->body[m->body_len] = '\0';
	sbuf_init(&ct);
	for (p = m->headers; *p != '\0'; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if (*p != ' ' && *p != '\t')
			keep = strncasecmp(p, "Content-", 8) == 0;
		if (keep)
			sbuf_add(&ct, p, (size_t)(eol - p) + 2);
	}
	m->content = ct.len ? sbuf_steal(&ct) : xstrdup("");
	sbuf_free(&ct);
	free(all);
}

static struct cert_entry *
load_signer(const char *pkidir)
{
	struct cert_entry *e = xcalloc(1, sizeof(*e));
	char *path;
	FILE *fp;
	X509 *x;

	path = xasprintf("%s/staff/%s.pem", pkidir, SIGNER);
	if ((fp = fopen(path, "r")) == NULL ||
	    (e->cert = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL)
		die(path);
	fclose(fp);
	free(path);
	path = xasprintf("%s/staff/%s.key", pkidir, SIGNER);
	if ((fp = fopen(path, "r")) == NULL ||
	    (e->key = PEM_read_PrivateKey(fp, NULL, NULL, (void *)"")) == NULL)
		die(path);
	fclose(fp);
	free(path);
	e->chain = sk_X509_new_null();
	path = xasprintf("%s/chain.pem", pkidir);
	if ((fp = fopen(path, "r")) == NULL)
		die(path);
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		sk_X509_push(e->chain, x);
	ERR_clear_error();
	fclose(fp);
	free(path);
	e->address = xstrdup(SIGNER);
	e->status = CERT_OK;
	return e;
}

static void
one_rsa(const struct cert_entry *e, const struct msg *m)
{
	static const unsigned char tbs[] = "segel bench: the bytes to be signed";
	unsigned char sig[512];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	(void)m;
	if (md == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, e->key) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, tbs, sizeof(tbs)) != 1)
		die("EVP_DigestSign");
	EVP_MD_CTX_free(md);
}

static void
one_cms(const struct cert_entry *e, const struct msg *m)
{
	BIO *in = BIO_new_mem_buf(m->body, (int)m->body_len);
	CMS_ContentInfo *cms;

	cms = CMS_sign(e->cert, e->key, e->chain, in,
	    CMS_DETACHED | CMS_BINARY);
	if (cms == NULL)
		die("CMS_sign");
	CMS_ContentInfo_free(cms);
	BIO_free(in);
}

static void
one_sign(const struct cert_entry *e, const struct msg *m)
{
	struct sign_req req;
	struct sign_out out;
	struct sbuf err;
	struct msgbuf *body = msgbuf_new(1 << 20, NULL);

	if (msgbuf_append(body, m->body, m->body_len) != 0)
		die("msgbuf_append");
	memset(&req, 0, sizeof(req));
	memset(&out, 0, sizeof(out));
	req.content_headers = m->content;
	req.body = body;
	req.footer = "Dokumen ini telah ditandatangani secara elektronik.";
	req.signer = e;
	req.memory_threshold = 1 << 20;
	sbuf_init(&err);
	if (smime_sign(&req, &out, &err) != 0) {
		fprintf(stderr, "loop: smime_sign: %s\n", err.s ? err.s : "");
		exit(1);
	}
	sbuf_free(&err);
	sign_out_free(&out);
	msgbuf_free(body);
}

static const struct pki *vpki;

static void
one_verify(const struct cert_entry *e, const struct msg *m)
{
	struct msgbuf *body = msgbuf_new(1 << 20, NULL);
	struct verify_result res;

	(void)e;
	if (msgbuf_append(body, m->body, m->body_len) != 0)
		die("msgbuf_append");
	memset(&res, 0, sizeof(res));
	if (smime_verify(vpki, m->headers, body, PARTNER, time(NULL),
	    &res) != 0 || res.result != AR_PASS) {
		fprintf(stderr, "loop: verify: result %d (%s)\n", res.result,
		    res.comment ? res.comment : "");
		exit(1);
	}
	verify_result_free(&res);
	msgbuf_free(body);
}

static struct pki *
load_pki(const char *pkidir)
{
	struct conf cf;
	struct diag d;
	struct pki *p;

	memset(&cf, 0, sizeof(cf));
	cf.path = "bench";
	cf.trust_file = xasprintf("%s/trust.pem", pkidir);
	cf.crl_dir = xasprintf("%s/crl", pkidir);
	diag_init(&d);
	p = pki_load(&cf, &d);
	diag_print(&d, stderr);
	diag_free(&d);
	free(cf.trust_file);
	free(cf.crl_dir);
	if (p == NULL)
		die("pki_load");
	return p;
}

int
main(int argc, char **argv)
{
	void (*fn)(const struct cert_entry *, const struct msg *);
	struct cert_entry *e;
	struct msg m;
	struct pki *p = NULL;
	const char *mode;
	double c0, w0, c1, w1;
	long i, n;

	if (argc < 4)
		die("usage: loop rsa PKI N | loop cms|sign|verify PKI MSG N");
	mode = argv[1];
	memset(&m, 0, sizeof(m));
	if (strcmp(mode, "rsa") == 0) {
		fn = one_rsa;
		n = atol(argv[3]);
	} else {
		if (argc < 5)
			die("missing MSG or N");
		read_msg(argv[3], &m);
		n = atol(argv[4]);
		if (strcmp(mode, "cms") == 0)
			fn = one_cms;
		else if (strcmp(mode, "sign") == 0)
			fn = one_sign;
		else if (strcmp(mode, "verify") == 0)
			fn = one_verify;
		else
			die("unknown mode");
	}
	if (n < 1 || n > 1000000)
		die("N out of range");
	g_mime_init();
	e = load_signer(argv[2]);
	if (fn == one_verify)
		vpki = p = load_pki(argv[2]);
	fn(e, &m);		/* warm-up: first-call initializations */
	c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	w0 = now_us(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++)
		fn(e, &m);
	c1 = now_us(CLOCK_PROCESS_CPUTIME_ID);
	w1 = now_us(CLOCK_MONOTONIC);
	printf("%s n=%ld cpu_us_per_op=%.1f wall_us_per_op=%.1f\n", mode, n,
	    (c1 - c0) / n, (w1 - w0) / n);
	pki_free(p);
	g_mime_shutdown();
	return 0;
}
