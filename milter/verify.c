/*
 * verify.c - verification of incoming S/MIME signatures and the RFC 7281
 * result (see verify.h).
 *
 * Public: smime_verify, verify_result_free.
 *
 * GMime finds the structure (content types, boundaries, the signature part);
 * the signed bytes of a multipart/signed are cut from the received buffer
 * between the delimiter lines (never re-serialized) and only bare LF is
 * turned into CRLF. OpenSSL checks the signature over those bytes with the
 * signer chain left out (CMS_NO_SIGNER_CERT_VERIFY), then the chain is
 * checked here with a per-call X509_STORE_CTX on the shared read-only store,
 * so that time, purpose and message CRLs are per message. Everything read
 * from the message is bounded; an unexpected input gives a result, never a
 * crash. Internal failures give AR_TEMPERROR and -1.
 */
#include <sys/mman.h>

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util.h"
#include "verify.h"

#define VERIFY_SIG_MAX		(1024 * 1024)	/* decoded detached signature */
#define VERIFY_OPAQUE_MAX	(256 * 1024 * 1024)
#define VERIFY_MAX_CERTS	64
#define VERIFY_MAX_CRLS		16
#define VERIFY_MAX_SIGNERS	8
#define VERIFY_MAX_ADDRS	32
#define VERIFY_SNIFF_MAX	(64 * 1024)	/* enough for a part's headers */
#define VERIFY_GRACE		(7 * 24 * 3600)	/* see verify.h */

/* The received body: in memory, or the spool file mapped read-only. */
struct raw {
	const char *p;
	size_t n;
	void *map;
};

enum loc_kind { LOC_NONE, LOC_DETACHED, LOC_OPAQUE, LOC_ENCRYPTED };

struct loc {
	enum loc_kind kind;
	GMimeObject *obj;	/* the multipart/signed or the pkcs7-mime part */
	const char *part;	/* IMAP section of the signature */
	bool nested;		/* first part of a top-level multipart/mixed */
};

static void
set_res(struct verify_result *res, enum ar_result r, const char *comment)
{
	res->result = r;
	free(res->comment);
	res->comment = comment != NULL ? xstrdup(comment) : NULL;
}

void
verify_result_free(struct verify_result *res)
{
	if (res == NULL)
		return;
	free(res->comment);
	free(res->identifier);
	free(res->part);
	free(res->serial);
	free(res->issuer);
	free(res->signer_name);
	memset(res, 0, sizeof(*res));
}

/* ---- the received bytes ------------------------------------------------ */

static int
raw_open(struct msgbuf *body, struct raw *r)
{
	memset(r, 0, sizeof(*r));
	r->n = msgbuf_len(body);
	if ((r->p = msgbuf_mem(body)) != NULL)
		return 0;
	if (r->n == 0) {
		r->p = "";
		return 0;
	}
	r->map = mmap(NULL, r->n, PROT_READ, MAP_PRIVATE, msgbuf_fd(body), 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return -1;
	}
	r->p = r->map;
	return 0;
}

static void
raw_close(struct raw *r)
{
	if (r->map != NULL)
		munmap(r->map, r->n);
	r->map = NULL;
}

/* A "--boundary" line: only LWSP may follow, or "--" for the last one. */
static int
raw_delim(const char *l, size_t n, const char *b, size_t bl)
{
	size_t i;

	if (n < 2 + bl || l[0] != '-' || l[1] != '-' ||
	    memcmp(l + 2, b, bl) != 0)
		return 0;
	if (n >= 4 + bl && l[2 + bl] == '-' && l[3 + bl] == '-')
		return 2;
	for (i = 2 + bl; i < n; i++)
		if (l[i] != ' ' && l[i] != '\t' && l[i] != '\r' && l[i] != '\n')
			return 0;
	return 1;
}

/*
 * The bytes of child idx (0-based) of a multipart body, without the EOL
 * that belongs to the following delimiter (RFC 2046 §5.1.1).
 */
static int
raw_child(const char *p, size_t n, const char *b, int idx, size_t *off,
    size_t *len)
{
	size_t i = 0, le, start = 0, end, bl = strlen(b);
	const char *eol;
	int k = -1, d;

	if (bl == 0)
		return -1;
	while (i < n) {
		eol = memchr(p + i, '\n', n - i);
		le = eol != NULL ? (size_t)(eol - (p + i)) + 1 : n - i;
		if ((d = raw_delim(p + i, le, b, bl)) != 0) {
			if (k == idx) {
				end = i;
				if (end > start && p[end - 1] == '\n')
					end--;
				if (end > start && p[end - 1] == '\r')
					end--;
				*off = start;
				*len = end - start;
				return 0;
			}
			if (d == 2)
				return -1;
			k++;
			start = i + le;
		}
		i += le;
	}
	return -1;
}

/* Offset of an entity's body: after the first empty line. */
static int
raw_body(const char *p, size_t n, size_t *off)
{
	size_t i = 0, le;
	const char *eol;

	while (i < n) {
		eol = memchr(p + i, '\n', n - i);
		if (eol == NULL)
			return -1;
		le = (size_t)(eol - (p + i)) + 1;
		if (le == 1 || (le == 2 && p[i] == '\r')) {
			*off = i + le;
			return 0;
		}
		i += le;
	}
	return -1;
}

/* A BIO over the bytes with every bare LF made CRLF (copied only then). */
static BIO *
canon_bio(const char *p, size_t n, char **copy)
{
	size_t i, j, lfs = 0;
	char *q;

	*copy = NULL;
	for (i = 0; i < n; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			lfs++;
	if (n + lfs > INT_MAX)
		return NULL;
	if (lfs == 0)
		return BIO_new_mem_buf(n ? p : "", (int)n);
	q = xmalloc(n + lfs);
	for (i = j = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			q[j++] = '\r';
		q[j++] = p[i];
	}
	*copy = q;
	return BIO_new_mem_buf(q, (int)j);
}

/* ---- MIME structure ---------------------------------------------------- */

static GMimeObject *
parse_entity(const char *headers, struct msgbuf *body)
{
	GMimeStream *cat, *s;
	GMimeParser *parser;
	GMimeObject *obj;
	size_t hl = strlen(headers);
	int fd;

	cat = g_mime_stream_cat_new();
	s = g_mime_stream_mem_new_with_buffer(headers, hl);
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
	g_object_unref(s);
	if (hl == 0 || headers[hl - 1] != '\n' || (hl >= 2 &&
	    headers[hl - 2] != '\n' && !(hl >= 3 && headers[hl - 2] == '\r' &&
	    headers[hl - 3] == '\n'))) {
		s = g_mime_stream_mem_new_with_buffer("\r\n", 2);
		g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
		g_object_unref(s);
	}
	if (msgbuf_mem(body) != NULL)
		s = g_mime_stream_mem_new_with_buffer(msgbuf_mem(body),
		    msgbuf_len(body));
	else if ((fd = dup(msgbuf_fd(body))) == -1) {
		g_object_unref(cat);
		return NULL;
	} else
		s = g_mime_stream_fs_new_with_bounds(fd, 0,
		    (gint64)msgbuf_len(body));
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
	g_object_unref(s);
	parser = g_mime_parser_new_with_stream(cat);
	obj = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	g_object_unref(cat);
	return obj;
}

static bool
is_type(GMimeObject *o, const char *type, const char *sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);

	return ct != NULL && g_mime_content_type_is_type(ct, type, sub);
}

static bool
is_pkcs7_mime(GMimeObject *o)
{
	const char *fn;
	size_t n;

	if (!GMIME_IS_PART(o))
		return false;
	if (is_type(o, "application", "pkcs7-mime") ||
	    is_type(o, "application", "x-pkcs7-mime"))
		return true;
	/* RFC 8551 §3.10: octet-stream named *.p7m */
	if (!is_type(o, "application", "octet-stream") ||
	    (fn = g_mime_part_get_filename(GMIME_PART(o))) == NULL)
		return false;
	n = strlen(fn);
	return n >= 4 && strcasecmp(fn + n - 4, ".p7m") == 0;
}

static bool
is_smime_signed(GMimeObject *o)
{
	const char *proto;

	if (!GMIME_IS_MULTIPART_SIGNED(o))
		return false;
	proto = g_mime_object_get_content_type_parameter(o, "protocol");
	return proto != NULL &&
	    (strcasecmp(proto, "application/pkcs7-signature") == 0 ||
	    strcasecmp(proto, "application/x-pkcs7-signature") == 0);
}

static void
locate(GMimeObject *top, struct loc *l)
{
	GMimeObject *first;

	memset(l, 0, sizeof(*l));
	l->kind = LOC_NONE;
	if (is_smime_signed(top)) {
		l->kind = LOC_DETACHED;
		l->part = "2";
	} else if (GMIME_IS_MULTIPART_ENCRYPTED(top)) {
		l->kind = LOC_ENCRYPTED;
	} else if (is_pkcs7_mime(top)) {
		l->kind = LOC_OPAQUE;
		l->part = "1";
	} else if (GMIME_IS_MULTIPART(top) &&
	    is_type(top, "multipart", "mixed") &&
	    g_mime_multipart_get_count(GMIME_MULTIPART(top)) > 0 &&
	    is_smime_signed(first =
	    g_mime_multipart_get_part(GMIME_MULTIPART(top), 0))) {
		l->kind = LOC_DETACHED;
		l->part = "1.2";
		l->nested = true;
		l->obj = first;
		return;
	}
	l->obj = top;
}

/*
 * True when the stream holds more than max bytes. A read error ends the
 * count: a substream of a GMimeStreamCat returns -1 at its end.
 */
static bool
stream_longer(GMimeStream *s, size_t max)
{
	char buf[16384];
	size_t total = 0;
	gssize r;

	if (g_mime_stream_reset(s) == -1)
		return true;
	while ((r = g_mime_stream_read(s, buf, sizeof(buf))) > 0)
		if ((total += (size_t)r) > max)
			break;
	g_mime_stream_reset(s);
	return total > max;
}

/*
 * The decoded content of a leaf, at most max bytes; NULL otherwise. The
 * encoded size is counted first (GMime's stream length is not reliable for
 * a part of a file stream), so hostile sizes are refused before decoding.
 */
static GByteArray *
decode_part(GMimeObject *o, size_t max)
{
	GMimeDataWrapper *w;
	GMimeStream *src, *mem;
	GByteArray *a;

	if (!GMIME_IS_PART(o) ||
	    (w = g_mime_part_get_content(GMIME_PART(o))) == NULL ||
	    (src = g_mime_data_wrapper_get_stream(w)) == NULL ||
	    stream_longer(src, max / 3 * 4 + max / 16 + 4096))
		return NULL;
	a = g_byte_array_new();
	mem = g_mime_stream_mem_new_with_byte_array(a);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	if (g_mime_data_wrapper_write_to_stream(w, mem) < 0 || a->len > max ||
	    a->len > INT_MAX) {
		g_object_unref(mem);
		g_byte_array_free(a, TRUE);
		return NULL;
	}
	g_object_unref(mem);
	return a;
}

static int
cms_type(CMS_ContentInfo *cms)
{
	return OBJ_obj2nid(CMS_get0_type(cms));
}

static bool
nid_is_encrypted(int nid)
{
	return nid == NID_pkcs7_enveloped || nid == NID_id_smime_ct_authEnvelopedData ||
	    nid == NID_pkcs7_encrypted;
}

/* An encrypted entity: a signature over it says nothing about its author. */
static bool
is_encrypted(GMimeObject *o)
{
	const char *st;
	GByteArray *a;
	CMS_ContentInfo *cms;
	const unsigned char *p;
	bool enc = false;

	if (GMIME_IS_MULTIPART_ENCRYPTED(o))
		return true;
	if (!is_pkcs7_mime(o))
		return false;
	st = g_mime_object_get_content_type_parameter(o, "smime-type");
	if (st != NULL)
		return strcasestr(st, "enveloped") != NULL;
	if ((a = decode_part(o, VERIFY_OPAQUE_MAX)) == NULL)
		return false;
	p = a->data;
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)a->len)) != NULL)
		enc = nid_is_encrypted(cms_type(cms));
	CMS_ContentInfo_free(cms);
	g_byte_array_free(a, TRUE);
	ERR_clear_error();
	return enc;
}

/* ---- the signer -------------------------------------------------------- */

/* A result's severity, to report the worst of several signers. */
static int
rank(enum ar_result r)
{
	switch (r) {
	case AR_PASS:		return 0;
	case AR_POLICY:		return 1;
	case AR_NEUTRAL:	return 2;
	case AR_PERMERROR:	return 3;
	case AR_FAIL:		return 4;
	default:		return 5;
	}
}

static char *
name_entry(const X509_NAME *nm, int nid)
{
	const X509_NAME_ENTRY *e;
	unsigned char *u = NULL;
	char *s;
	int i, n;

	if ((i = X509_NAME_get_index_by_NID(nm, nid, -1)) < 0 ||
	    (e = X509_NAME_get_entry(nm, i)) == NULL ||
	    (n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e))) < 0)
		return NULL;
	s = xstrndup((char *)u, (size_t)n);
	OPENSSL_free(u);
	return s;
}

static void
cert_info(X509 *x, struct verify_result *res)
{
	const X509_NAME *subj = X509_get_subject_name(x);
	char *cn, *o, *hex, *data;
	BIGNUM *bn;
	BIO *bio;
	long n;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL) {
		res->serial = xstrdup(hex);
		OPENSSL_free(hex);
	}
	BN_free(bn);
	if ((bio = BIO_new(BIO_s_mem())) != NULL &&
	    X509_NAME_print_ex(bio, X509_get_issuer_name(x), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_get_mem_data(bio, &data)) > 0)
		res->issuer = xstrndup(data, (size_t)n);
	BIO_free(bio);
	cn = name_entry(subj, NID_commonName);
	o = name_entry(subj, NID_organizationName);
	if (cn != NULL && o != NULL)
		res->signer_name = xasprintf("%s, %s", cn, o);
	else if (cn != NULL || o != NULL)
		res->signer_name = xstrdup(cn != NULL ? cn : o);
	free(cn);
	free(o);
}

static char *
lower(const char *s)
{
	char *d = xstrdup(s), *p;

	for (p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/*
 * RFC 8550 §3: From must match an address of the certificate (SAN
 * rfc822Name or subject emailAddress), compared case-insensitively also in
 * the local part; a certificate without an address is accepted. Sets the
 * identifier to the matching address, else the certificate's first one.
 */
static bool
addr_matches(X509 *x, const char *from, struct verify_result *res)
{
	STACK_OF(OPENSSL_STRING) *em = X509_get1_email(x);
	const char *a;
	bool ok = true;
	int i, n = sk_OPENSSL_STRING_num(em);

	if (n > 0) {
		ok = false;
		for (i = 0; i < n && i < VERIFY_MAX_ADDRS && !ok; i++) {
			a = sk_OPENSSL_STRING_value(em, i);
			ok = from != NULL && strcasecmp(a, from) == 0;
		}
		res->identifier = lower(sk_OPENSSL_STRING_value(em,
		    ok ? i - 1 : 0));
	}
	X509_email_free(em);
	return ok;
}

static int
signing_time(CMS_SignerInfo *si, time_t *t)
{
	X509_ATTRIBUTE *a;
	ASN1_TYPE *v;
	struct tm tm;
	int i;

	if ((i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1)) < 0 ||
	    (a = CMS_signed_get_attr(si, i)) == NULL ||
	    (v = X509_ATTRIBUTE_get0_type(a, 0)) == NULL ||
	    (v->type != V_ASN1_UTCTIME && v->type != V_ASN1_GENERALIZEDTIME) ||
	    !ASN1_TIME_to_tm(v->value.utctime, &tm))
		return -1;
	*t = timegm(&tm);
	return 0;
}

static int
chain_check(const struct pki *pki, X509 *x, STACK_OF(X509) *certs,
    STACK_OF(X509_CRL) *crls, time_t t)
{
	X509_STORE_CTX *ctx;
	int err = X509_V_ERR_UNSPECIFIED;

	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, pki->store, x, certs))
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
	X509_STORE_CTX_set_time(ctx, 0, t);
	if (sk_X509_CRL_num(crls) > 0)
		X509_STORE_CTX_set0_crls(ctx, crls);
	if (X509_verify_cert(ctx) == 1)
		err = X509_V_OK;
	else if ((err = X509_STORE_CTX_get_error(ctx)) == X509_V_OK)
		err = X509_V_ERR_UNSPECIFIED;
out:
	X509_STORE_CTX_free(ctx);
	return err;
}

/*
 * The time rule (verify.h): the chain is checked at arrival; when it fails
 * only for expiry, it is checked again at the signing time if that lies in
 * the certificate's validity and at most VERIFY_GRACE before arrival.
 */
static int
chain_check_grace(const struct pki *pki, CMS_SignerInfo *si, X509 *x,
    STACK_OF(X509) *certs, STACK_OF(X509_CRL) *crls, time_t now)
{
	int err = chain_check(pki, x, certs, crls, now);
	time_t st;

	if (err != X509_V_ERR_CERT_HAS_EXPIRED || signing_time(si, &st) != 0 ||
	    st > now || now - st > VERIFY_GRACE ||
	    X509_cmp_time(X509_get0_notAfter(x), &st) < 0 ||
	    X509_cmp_time(X509_get0_notBefore(x), &st) > 0)
		return err;
	return chain_check(pki, x, certs, crls, st);
}

static const char *
chain_reason(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_REVOKED:
		return "certificate revoked";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "certificate not yet valid";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return "certificate not issued by a trusted CA";
	case X509_V_ERR_INVALID_PURPOSE:
		return "certificate not for e-mail signing";
	default:
		return NULL;
	}
}

static const char *
weak_digest(CMS_SignerInfo *si)
{
	X509_ALGOR *dig = NULL;

	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	if (dig == NULL)
		return NULL;
	switch (OBJ_obj2nid(dig->algorithm)) {
	case NID_sha1:	return "weak digest SHA-1";
	case NID_md5:	return "weak digest MD5";
	case NID_md2:	return "weak digest MD2";
	case NID_md4:	return "weak digest MD4";
	default:	return NULL;
	}
}

static void
check_signer(const struct pki *pki, CMS_SignerInfo *si, X509 *x,
    STACK_OF(X509) *certs, STACK_OF(X509_CRL) *crls, const char *from,
    time_t now, struct verify_result *res)
{
	const char *why;
	char *s;
	int err;

	cert_info(x, res);
	if (!addr_matches(x, from, res)) {
		s = xasprintf("signer %s is not the From address",
		    res->identifier);
		set_res(res, AR_POLICY, s);
		free(s);
	}
	if ((err = chain_check_grace(pki, si, x, certs, crls, now)) != X509_V_OK) {
		if ((why = chain_reason(err)) != NULL)
			set_res(res, AR_FAIL, why);
		else {
			s = xasprintf("certificate not valid: %s",
			    X509_verify_cert_error_string(err));
			set_res(res, AR_FAIL, s);
			free(s);
		}
	} else if ((why = weak_digest(si)) != NULL)
		set_res(res, AR_POLICY, why);
	else if (res->result != AR_POLICY) {
		s = res->signer_name != NULL ? xasprintf("signature valid; signer %s",
		    res->signer_name) : xstrdup("signature valid");
		set_res(res, AR_PASS, s);
		free(s);
	}
}

/* Why CMS_verify (without the chain) failed, from the error queue. */
static void
cms_failure(struct verify_result *res)
{
	enum ar_result r = AR_NEUTRAL;
	const char *why = NULL;
	unsigned long e;

	while ((e = ERR_get_error()) != 0) {
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE) {
			r = AR_TEMPERROR;
			why = "internal error (out of memory)";
			continue;
		}
		if (ERR_GET_LIB(e) != ERR_LIB_CMS || r == AR_TEMPERROR)
			continue;
		switch (ERR_GET_REASON(e)) {
		case CMS_R_SIGNER_CERTIFICATE_NOT_FOUND:
			r = AR_PERMERROR;
			why = "signer certificate not in the message";
			break;
		case CMS_R_VERIFICATION_FAILURE:
		case CMS_R_CONTENT_VERIFY_ERROR:
			r = AR_FAIL;
			why = "signature does not match content";
			break;
		case CMS_R_NO_CONTENT:
			why = "signed content missing";
			break;
		case CMS_R_UNKNOWN_DIGEST_ALGORITHM:
		case CMS_R_UNSUPPORTED_TYPE:
			why = "unsupported algorithm";
			break;
		}
	}
	set_res(res, r, why != NULL ? why : "signature cannot be processed");
}

static void
check_signers(const struct pki *pki, CMS_ContentInfo *cms,
    STACK_OF(X509) *certs, STACK_OF(X509_CRL) *crls, const char *from,
    time_t now, struct verify_result *res)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	STACK_OF(X509) *signers = CMS_get0_signers(cms);
	struct verify_result one;
	int i;

	for (i = 0; i < sk_CMS_SignerInfo_num(sis); i++) {
		memset(&one, 0, sizeof(one));
		if (i >= sk_X509_num(signers) || sk_X509_value(signers, i) == NULL)
			set_res(&one, AR_PERMERROR,
			    "signer certificate not in the message");
		else
			check_signer(pki, sk_CMS_SignerInfo_value(sis, i),
			    sk_X509_value(signers, i), certs, crls, from, now,
			    &one);
		if (i == 0 || rank(one.result) > rank(res->result)) {
			verify_result_free(res);
			*res = one;
		} else
			verify_result_free(&one);
	}
	sk_X509_free(signers);
}

static void
verify_cms(const struct pki *pki, CMS_ContentInfo *cms, BIO *content,
    const char *from, time_t now, struct verify_result *res)
{
	STACK_OF(X509) *certs = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	BIO *out = NULL;
	int n = sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms));

	if (n <= 0) {
		set_res(res, AR_NONE, NULL);	/* certs-only: no signature */
		return;
	}
	if (n > VERIFY_MAX_SIGNERS) {
		set_res(res, AR_NEUTRAL, "too many signers");
		return;
	}
	certs = CMS_get1_certs(cms);
	crls = CMS_get1_crls(cms);
	if (sk_X509_num(certs) > VERIFY_MAX_CERTS ||
	    sk_X509_CRL_num(crls) > VERIFY_MAX_CRLS) {
		set_res(res, AR_NEUTRAL, "too many certificates in the signature");
		goto out;
	}
	if (content == NULL && (out = BIO_new(BIO_s_null())) == NULL) {
		set_res(res, AR_TEMPERROR, "internal error");
		goto out;
	}
	ERR_clear_error();
	if (CMS_verify(cms, NULL, NULL, content, out,
	    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		cms_failure(res);
		goto out;
	}
	check_signers(pki, cms, certs, crls, from, now, res);
out:
	BIO_free(out);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
}

/* ---- detached and opaque ----------------------------------------------- */

/* Part 1's bytes as received, located through the boundaries. */
static int
signed_bytes(const struct raw *raw, GMimeObject *top, const struct loc *l,
    const char **p, size_t *n)
{
	const char *b;
	size_t off, len, boff;

	*p = raw->p;
	*n = raw->n;
	if (l->nested) {
		b = g_mime_multipart_get_boundary(GMIME_MULTIPART(top));
		if (b == NULL || raw_child(*p, *n, b, 0, &off, &len) != 0 ||
		    raw_body(*p + off, len, &boff) != 0)
			return -1;
		*p += off + boff;
		*n = len - boff;
	}
	b = g_mime_multipart_get_boundary(GMIME_MULTIPART(l->obj));
	if (b == NULL || raw_child(*p, *n, b, 0, &off, &len) != 0)
		return -1;
	*p += off;
	*n = len;
	return 0;
}

static void
verify_detached(const struct pki *pki, const struct raw *raw,
    GMimeObject *top, const struct loc *l, const char *from, time_t now,
    struct verify_result *res)
{
	GMimeMultipart *mp = GMIME_MULTIPART(l->obj);
	CMS_ContentInfo *cms = NULL;
	GByteArray *der = NULL;
	const unsigned char *dp;
	const char *p;
	char *copy = NULL;
	BIO *bio = NULL;
	size_t n;

	if (g_mime_multipart_get_count(mp) != 2) {
		set_res(res, AR_NEUTRAL, "malformed multipart/signed");
		goto out;
	}
	if (is_encrypted(g_mime_multipart_get_part(mp, 0))) {
		set_res(res, AR_SKIP, "signed content is encrypted, cannot be checked");
		goto out;
	}
	if ((der = decode_part(g_mime_multipart_get_part(mp, 1),
	    VERIFY_SIG_MAX)) == NULL) {
		set_res(res, AR_NEUTRAL, "signature part unreadable");
		goto out;
	}
	dp = der->data;
	if ((cms = d2i_CMS_ContentInfo(NULL, &dp, (long)der->len)) == NULL ||
	    cms_type(cms) != NID_pkcs7_signed) {
		set_res(res, AR_NEUTRAL, "signature unparseable");
		goto out;
	}
	if (signed_bytes(raw, top, l, &p, &n) != 0) {
		set_res(res, AR_NEUTRAL, "multipart/signed boundaries not found");
		goto out;
	}
	if ((bio = canon_bio(p, n, &copy)) == NULL) {
		set_res(res, AR_TEMPERROR, "internal error reading the message");
		goto out;
	}
	verify_cms(pki, cms, bio, from, now, res);
out:
	BIO_free(bio);
	free(copy);
	CMS_ContentInfo_free(cms);
	if (der != NULL)
		g_byte_array_free(der, TRUE);
}

/* The first bytes of an opaque signature's content, parsed for its type. */
static bool
econtent_is_encrypted(CMS_ContentInfo *cms)
{
	ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
	GMimeStream *s;
	GMimeParser *parser;
	GMimeObject *o;
	bool enc = false;
	int len;

	if (pos == NULL || *pos == NULL)
		return false;
	len = ASN1_STRING_length(*pos);
	s = g_mime_stream_mem_new_with_buffer(
	    (const char *)ASN1_STRING_get0_data(*pos),
	    (size_t)(len > VERIFY_SNIFF_MAX ? VERIFY_SNIFF_MAX : len));
	parser = g_mime_parser_new_with_stream(s);
	if ((o = g_mime_parser_construct_part(parser, NULL)) != NULL) {
		enc = GMIME_IS_MULTIPART_ENCRYPTED(o) || (is_pkcs7_mime(o) &&
		    (g_mime_object_get_content_type_parameter(o, "smime-type") == NULL ||
		    strcasestr(g_mime_object_get_content_type_parameter(o,
		    "smime-type"), "enveloped") != NULL));
		g_object_unref(o);
	}
	g_object_unref(parser);
	g_object_unref(s);
	return enc;
}

static void
verify_opaque(const struct pki *pki, GMimeObject *o, const char *from,
    time_t now, struct verify_result *res)
{
	const char *st = g_mime_object_get_content_type_parameter(o, "smime-type");
	CMS_ContentInfo *cms = NULL;
	GByteArray *der = NULL;
	const unsigned char *dp;
	int nid;

	if (st != NULL && strcasestr(st, "enveloped") != NULL) {
		set_res(res, AR_SKIP, "encrypted, cannot be checked");
		return;
	}
	if ((der = decode_part(o, VERIFY_OPAQUE_MAX)) == NULL) {
		set_res(res, AR_NEUTRAL, "S/MIME part unreadable");
		goto out;
	}
	dp = der->data;
	if ((cms = d2i_CMS_ContentInfo(NULL, &dp, (long)der->len)) == NULL) {
		set_res(res, AR_NEUTRAL, "S/MIME content unparseable");
		goto out;
	}
	if (nid_is_encrypted(nid = cms_type(cms)))
		set_res(res, AR_SKIP, "encrypted, cannot be checked");
	else if (nid != NID_pkcs7_signed)
		set_res(res, AR_NEUTRAL, "S/MIME content is not signed data");
	else if (CMS_is_detached(cms))
		set_res(res, AR_NEUTRAL, "signed data without content");
	else if (econtent_is_encrypted(cms))
		set_res(res, AR_SKIP, "signed content is encrypted, cannot be checked");
	else
		verify_cms(pki, cms, NULL, from, now, res);
out:
	CMS_ContentInfo_free(cms);
	if (der != NULL)
		g_byte_array_free(der, TRUE);
}

int
smime_verify(const struct pki *pki, const char *headers, struct msgbuf *body,
    const char *from_addr, time_t now, struct verify_result *res)
{
	GMimeObject *top = NULL;
	struct raw raw;
	struct loc l;

	memset(res, 0, sizeof(*res));
	res->result = AR_NONE;
	ERR_clear_error();
	if (raw_open(body, &raw) != 0 ||
	    (top = parse_entity(headers != NULL ? headers : "", body)) == NULL) {
		set_res(res, AR_TEMPERROR, "internal error reading the message");
		goto out;
	}
	locate(top, &l);
	if (l.kind == LOC_ENCRYPTED)
		set_res(res, AR_SKIP, "encrypted, cannot be checked");
	else if (l.kind != LOC_NONE && (pki == NULL || pki->store == NULL))
		set_res(res, AR_TEMPERROR, "no trust anchors loaded");
	else if (l.kind == LOC_DETACHED)
		verify_detached(pki, &raw, top, &l, from_addr, now, res);
	else if (l.kind == LOC_OPAQUE)
		verify_opaque(pki, l.obj, from_addr, now, res);
	if (l.part != NULL && res->result != AR_NONE && res->result != AR_SKIP &&
	    res->part == NULL)
		res->part = xstrdup(l.part);
out:
	if (top != NULL)
		g_object_unref(top);
	raw_close(&raw);
	ERR_clear_error();
	return res->result == AR_TEMPERROR ? -1 : 0;
}
