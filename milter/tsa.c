/*
 * tsa.c - RFC 3161 request, answer and token checks (see tsa.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "http.h"
#include "tsa.h"

/* OpenSSL's error queue, drained into err after what. */
static void
tsa_ssl_err(struct sbuf *err, const char *what)
{
	unsigned long e;
	char buf[256];
	int n = 0;

	sbuf_adds(err, what);
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		if (n++ < 3)
			sbuf_printf(err, "%s%s", n == 1 ? ": " : "; ", buf);
	}
}

/* A store of trust_file's certificates; NULL with err set. */
static X509_STORE *
tsa_store(const char *trust_file, struct sbuf *err)
{
	X509_STORE *st = X509_STORE_new();

	if (st == NULL || X509_STORE_load_file(st, trust_file) != 1) {
		tsa_ssl_err(err, "cannot load the TSA trust file");
		X509_STORE_free(st);
		return NULL;
	}
	return st;
}

/* genTime of a TSTInfo as time_t; -1 when unreadable. */
static time_t
tsa_gen_time(TS_TST_INFO *tst)
{
	const ASN1_GENERALIZEDTIME *t = TS_TST_INFO_get_time(tst);
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return timegm(&tm);
}

/* The SHA-256 imprint of a TSTInfo into out[32]; -1 when it is not one. */
static int
tsa_imprint(TS_TST_INFO *tst, unsigned char out[32])
{
	TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(tst);
	const ASN1_OBJECT *oid;
	ASN1_OCTET_STRING *msg;

	if (mi == NULL || (msg = TS_MSG_IMPRINT_get_msg(mi)) == NULL)
		return -1;
	X509_ALGOR_get0(&oid, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
	if (OBJ_obj2nid(oid) != NID_sha256 || ASN1_STRING_length(msg) != 32)
		return -1;
	memcpy(out, ASN1_STRING_get0_data(msg), 32);
	return 0;
}

/* base64 of n bytes; caller frees. */
static char *
tsa_b64(const unsigned char *p, int n)
{
	char *out = xmalloc(4 * ((size_t)n + 2) / 3 + 4);

	EVP_EncodeBlock((unsigned char *)out, p, n);
	return out;
}

/* The DER of a base64 text (no line breaks); NULL when it is not one. */
static unsigned char *
tsa_unb64(const char *s, int *len)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *out;
	int r;

	if (n == 0 || n % 4 != 0 || n > TSA_TOKEN_MAX)
		return NULL;
	pad = (s[n - 1] == '=') + (s[n - 2] == '=');
	out = xmalloc(n / 4 * 3 + 1);
	if ((r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n)) < 0) {
		free(out);
		return NULL;
	}
	*len = r - (int)pad;
	return out;
}

/* The request: SHA-256 imprint head, a 64-bit random nonce, certReq. */
static TS_REQ *
tsa_request(const unsigned char head[32])
{
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_INTEGER *nonce = NULL;
	BIGNUM *bn = BN_new();
	int ok = 0;

	if (req == NULL || mi == NULL || alg == NULL || bn == NULL)
		goto out;
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL,
	    NULL) != 1 || TS_MSG_IMPRINT_set_algo(mi, alg) != 1 ||
	    TS_MSG_IMPRINT_set_msg(mi, (unsigned char *)head, 32) != 1 ||
	    TS_REQ_set_version(req, 1) != 1 ||
	    TS_REQ_set_msg_imprint(req, mi) != 1 ||
	    BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    (nonce = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    TS_REQ_set_nonce(req, nonce) != 1 || TS_REQ_set_cert_req(req, 1) != 1)
		goto out;
	ok = 1;
out:
	ASN1_INTEGER_free(nonce);
	BN_free(bn);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	if (!ok) {
		TS_REQ_free(req);
		req = NULL;
	}
	return req;
}

/* Sends req to url; the answer parsed, or NULL (err, *unreachable). */
static TS_RESP *
tsa_exchange(const char *url, TS_REQ *req, long timeout_ms,
    int *unreachable, struct sbuf *err)
{
	struct http_req hr;
	struct sbuf body, herr;
	unsigned char *der = NULL;
	const unsigned char *p;
	TS_RESP *resp = NULL;
	int len;

	sbuf_init(&body);
	sbuf_init(&herr);
	if ((len = i2d_TS_REQ(req, &der)) <= 0) {
		tsa_ssl_err(err, "cannot encode the request");
		goto out;
	}
	memset(&hr, 0, sizeof(hr));
	hr.url = url;
	hr.content_type = "application/timestamp-query";
	hr.accept = "application/timestamp-reply";
	hr.body = der;
	hr.body_len = (size_t)len;
	hr.timeout_ms = timeout_ms;
	hr.max_bytes = 1024 * 1024;
	if (http_fetch(&hr, &body, NULL, &herr) != 0) {
		*unreachable = 1;
		sbuf_printf(err, "TSA: %s", herr.s ? herr.s : "?");
		goto out;
	}
	p = (const unsigned char *)body.s;
	if (body.len == 0 || (resp = d2i_TS_RESP(NULL, &p,
	    (long)body.len)) == NULL)
		tsa_ssl_err(err, "the TSA's answer is not an RFC 3161 "
		    "TimeStampResp");
out:
	OPENSSL_free(der);
	sbuf_free(&body);
	sbuf_free(&herr);
	return resp;
}

int
tsa_stamp(const char *url, const char *trust_file,
    const unsigned char head[32], long timeout_ms, char **token_b64,
    time_t *gen_time, int *unreachable, struct sbuf *err)
{
	TS_REQ *req = NULL;
	TS_RESP *resp = NULL;
	TS_VERIFY_CTX *vc = NULL;
	X509_STORE *st = NULL;
	unsigned char *der = NULL, imprint[32];
	int len, r = -1;

	*token_b64 = NULL;
	*unreachable = 0;
	if ((req = tsa_request(head)) == NULL) {
		tsa_ssl_err(err, "cannot build the request");
		goto out;
	}
	if ((resp = tsa_exchange(url, req, timeout_ms, unreachable,
	    err)) == NULL)
		goto out;
	if ((st = tsa_store(trust_file, err)) == NULL)
		goto out;
	if ((vc = TS_REQ_to_TS_VERIFY_CTX(req, NULL)) == NULL)
		goto ssl;
	TS_VERIFY_CTX_add_flags(vc, TS_VFY_SIGNATURE);
	TS_VERIFY_CTX_set_store(vc, st);
	st = NULL;	/* vc owns it */
	if (TS_RESP_verify_response(vc, resp) != 1) {
		tsa_ssl_err(err, "the TSA's answer does not verify");
		goto out;
	}
	if ((len = i2d_PKCS7(TS_RESP_get_token(resp), &der)) <= 0)
		goto ssl;
	*token_b64 = tsa_b64(der, len);
	/* what an auditor will do with the record, once now */
	if (tsa_check(trust_file, *token_b64, imprint, gen_time, err) != 0)
		goto out;
	if (memcmp(imprint, head, 32) != 0) {
		sbuf_adds(err, "the token's imprint is not the head asked for");
		goto out;
	}
	r = 0;
	goto out;
ssl:
	tsa_ssl_err(err, "OpenSSL");
out:
	if (r != 0) {
		free(*token_b64);
		*token_b64 = NULL;
	}
	OPENSSL_free(der);
	TS_VERIFY_CTX_free(vc);
	X509_STORE_free(st);
	TS_RESP_free(resp);
	TS_REQ_free(req);
	return r;
}

/* Checks the signature of token (tst its content) at its genTime. */
static int
tsa_check_sig(const char *trust_file, PKCS7 *token, time_t when,
    const unsigned char imprint[32], struct sbuf *err)
{
	TS_VERIFY_CTX *vc = TS_VERIFY_CTX_new();
	X509_STORE *st;
	unsigned char *copy;
	int r = -1;

	if (vc == NULL || (st = tsa_store(trust_file, err)) == NULL)
		goto out;
	/* valid when made: a TSA certificate expired since still counts */
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(st), when);
	TS_VERIFY_CTX_set_store(vc, st);
	copy = OPENSSL_memdup(imprint, 32);
	TS_VERIFY_CTX_set_imprint(vc, copy, 32);
	TS_VERIFY_CTX_set_flags(vc, TS_VFY_SIGNATURE | TS_VFY_IMPRINT |
	    TS_VFY_VERSION);
	if (TS_RESP_verify_token(vc, token) != 1)
		tsa_ssl_err(err, "token does not verify under the TSA trust "
		    "file");
	else
		r = 0;
out:
	TS_VERIFY_CTX_free(vc);
	return r;
}

int
tsa_check(const char *trust_file, const char *token_b64,
    unsigned char imprint[32], time_t *gen_time, struct sbuf *err)
{
	unsigned char *der;
	const unsigned char *p;
	PKCS7 *token = NULL;
	TS_TST_INFO *tst = NULL;
	int len, r = -1;

	if ((der = tsa_unb64(token_b64, &len)) == NULL) {
		sbuf_adds(err, "token is not base64");
		return -1;
	}
	p = der;
	if ((token = d2i_PKCS7(NULL, &p, len)) == NULL ||
	    (tst = PKCS7_to_TS_TST_INFO(token)) == NULL) {
		tsa_ssl_err(err, "token is not an RFC 3161 TimeStampToken");
		goto out;
	}
	if ((*gen_time = tsa_gen_time(tst)) == (time_t)-1 ||
	    tsa_imprint(tst, imprint) != 0) {
		sbuf_adds(err, "token has no readable genTime or no SHA-256 "
		    "imprint");
		goto out;
	}
	r = tsa_check_sig(trust_file, token, *gen_time, imprint, err);
out:
	TS_TST_INFO_free(tst);
	PKCS7_free(token);
	free(der);
	return r;
}
