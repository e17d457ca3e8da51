/*
 * verify_cms.c - judging one CMS SignedData for smime_verify (verify.c):
 * the signature over the content, then each signer's chain, time rule,
 * digest and address, as an RFC 7281 result.
 *
 * Public: verify_cms_check, verify_cms_result.
 *
 * OpenSSL checks the signature with the chain left out
 * (CMS_NO_SIGNER_CERT_VERIFY), so that a mismatch (fail) is told apart from
 * an untrusted signer; the chain is then checked here with a per-call
 * X509_STORE_CTX on the shared, read-only store, so that time, purpose and
 * the message's CRLs are per message. Input is bounded (certificates, CRLs,
 * signers, addresses). OpenSSL's error queue is drained before returning.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util.h"
#include "ocsp.h"
#include "verify_cms.h"

#define VERIFY_MAX_CERTS	64
#define VERIFY_MAX_CRLS		16
#define VERIFY_MAX_SIGNERS	8
#define VERIFY_MAX_ADDRS	32
#define VERIFY_MAX_NAME		128	/* bytes of a CN or O we quote */
#define VERIFY_GRACE		(7 * 24 * 3600)	/* see verify.h */

void
verify_cms_result(struct verify_result *res, enum ar_result r,
    const char *comment)
{
	res->result = r;
	free(res->comment);
	res->comment = comment != NULL ? xstrdup(comment) : NULL;
}

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
	/* comments and logs quote it: a hostile name is cut short */
	s = xstrndup((char *)u, (size_t)(n > VERIFY_MAX_NAME ? VERIFY_MAX_NAME : n));
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

	if (X509_up_ref(x) == 1) {
		X509_free(res->signer_cert);
		res->signer_cert = x;
	}
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
 * the local part. Sets the identifier to the matching address, else the
 * certificate's first one. 1: From matches; 0: it does not; -1: the
 * certificate names no address. Such a certificate is accepted (RFC 8550
 * §3), but binds no From: as a pass it would vouch for whatever From says.
 */
static int
addr_matches(X509 *x, const char *from, struct verify_result *res)
{
	STACK_OF(OPENSSL_STRING) *em = X509_get1_email(x);
	const char *a;
	bool ok = false;
	int i, n = sk_OPENSSL_STRING_num(em);

	if (n > 0) {
		for (i = 0; i < n && i < VERIFY_MAX_ADDRS && !ok; i++) {
			a = sk_OPENSSL_STRING_value(em, i);
			ok = from != NULL && strcasecmp(a, from) == 0;
		}
		a = sk_OPENSSL_STRING_value(em, ok ? i - 1 : 0);
		if (strlen(a) <= 254)	/* RFC 5321's longest path */
			res->identifier = lower(a);
	}
	X509_email_free(em);
	return n <= 0 ? -1 : ok;
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

/* The leaf's EKU has anyExtendedKeyUsage and its KeyUsage allows signing. */
static bool
any_eku_signer(X509 *x)
{
	uint32_t fl = X509_get_extension_flags(x);

	return (fl & EXFLAG_XKUSAGE) &&
	    (X509_get_extended_key_usage(x) & XKU_ANYEKU) &&
	    (!(fl & EXFLAG_KUSAGE) || (X509_get_key_usage(x) &
	    (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)));
}

/*
 * RFC 8550 §4.4.4 accepts an EKU of anyExtendedKeyUsage for mail, which
 * OpenSSL's smimesign purpose refuses; every other decision is the store's
 * own callback's (CRL tolerance, see pki.h).
 */
static int
chain_cb(int ok, X509_STORE_CTX *ctx)
{
	X509_STORE_CTX_verify_cb next =
	    X509_STORE_get_verify_cb(X509_STORE_CTX_get0_store(ctx));
	X509 *x;

	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_INVALID_PURPOSE &&
	    X509_STORE_CTX_get_error_depth(ctx) == 0 &&
	    (x = X509_STORE_CTX_get_current_cert(ctx)) != NULL &&
	    any_eku_signer(x)) {
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	}
	return next != NULL ? next(ok, ctx) : ok;
}

/*
 * True when crl_dir lists a certificate of the verified chain (the anchor
 * aside). OpenSSL judges each certificate by one CRL of its issuer: when
 * the message carries one that is within its dates, that one, and it never
 * looks at the store's. An older CRL, issued before the revocation and
 * attached by the revoked signer, or any carried CRL against an expired one
 * in crl_dir (which still revokes what it lists, pki.h), would take back a
 * revocation crl_dir knows. A carried CRL may add revocations, never hide
 * one.
 */
static bool
listed_in_crl_dir(const struct pki *pki, STACK_OF(X509) *chain)
{
	int i;

	for (i = 0; i + 1 < sk_X509_num(chain); i++)
		if (pki_is_revoked(pki, sk_X509_value(chain, i)))
			return true;
	return false;
}

static int
chain_check(const struct pki *pki, X509 *x, STACK_OF(X509) *certs,
    STACK_OF(X509_CRL) *crls, time_t t)
{
	X509_STORE_CTX *ctx;
	STACK_OF(X509) *untrusted = NULL;
	STACK_OF(X509_CRL) *xcrls = pki_crls(pki, crls);
	int err = X509_V_ERR_UNSPECIFIED;

	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    (untrusted = pki_untrusted(pki, certs)) == NULL ||
	    !X509_STORE_CTX_init(ctx, pki->store, x, untrusted))
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
	X509_STORE_CTX_set_verify_cb(ctx, chain_cb);
	X509_STORE_CTX_set_time(ctx, 0, t);
	if (xcrls != NULL)		/* crl_dir's indirect CRLs too */
		X509_STORE_CTX_set0_crls(ctx, xcrls);
	else if (sk_X509_CRL_num(crls) > 0)
		X509_STORE_CTX_set0_crls(ctx, crls);
	if (X509_verify_cert(ctx) == 1)
		err = listed_in_crl_dir(pki, X509_STORE_CTX_get0_chain(ctx)) ?
		    X509_V_ERR_CERT_REVOKED : X509_V_OK;
	else if ((err = X509_STORE_CTX_get_error(ctx)) == X509_V_OK)
		err = X509_V_ERR_UNSPECIFIED;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	sk_X509_CRL_free(xcrls);
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

/* RFC 8551 §4.1-4.3: verifiers SHOULD NOT accept RSA or DSA under 2048. */
static const char *
weak_key(X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	if (k != NULL && (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS") ||
	    EVP_PKEY_is_a(k, "DSA")) && EVP_PKEY_get_bits(k) < 2048)
		return "weak key, under 2048 bits";
	return NULL;
}

/*
 * The signer's OCSP responder (ocsp.h): revoked is final; under "required"
 * no answer is a temperror. True when it decided res.
 */
static bool
check_ocsp(const struct pki *pki, X509 *x, STACK_OF(X509) *certs,
    struct verify_result *res)
{
	switch (ocsp_check(pki, x, certs, NULL, 0)) {
	case OCSP_ST_REVOKED:
		verify_cms_result(res, AR_FAIL, "certificate revoked at its OCSP responder");
		return true;
	case OCSP_ST_UNKNOWN:
	case OCSP_ST_NOANSWER:
		if (pki->ocsp != OCSP_REQUIRED)
			return false;
		verify_cms_result(res, AR_TEMPERROR,
		    "revocation status unknown: no OCSP answer");
		return true;
	default:
		return false;
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
	if ((err = addr_matches(x, from, res)) == -1)
		verify_cms_result(res, AR_POLICY,
		    "signer certificate names no e-mail address");
	else if (err == 0) {
		s = xasprintf("signer %s is not the From address",
		    res->identifier != NULL ? res->identifier : "(unnamed)");
		verify_cms_result(res, AR_POLICY, s);
		free(s);
	}
	if ((err = chain_check_grace(pki, si, x, certs, crls, now)) != X509_V_OK) {
		if ((why = chain_reason(err)) != NULL)
			verify_cms_result(res, AR_FAIL, why);
		else {
			s = xasprintf("certificate not valid: %s",
			    X509_verify_cert_error_string(err));
			verify_cms_result(res, AR_FAIL, s);
			free(s);
		}
	} else if (check_ocsp(pki, x, certs, res))
		;
	else if (res->result != AR_POLICY &&
	    pki_crl_stale(pki, x, certs, now, &s)) {
		/* the stale-CRL rule (pki.h): not a pass, and saying why */
		verify_cms_result(res, AR_TEMPERROR, s);
		free(s);
	} else if ((why = weak_digest(si)) != NULL || (why = weak_key(x)) != NULL)
		verify_cms_result(res, AR_POLICY, why);
	else if (res->result != AR_POLICY) {
		s = res->signer_name != NULL ? xasprintf("signature valid; signer %s",
		    res->signer_name) : xstrdup("signature valid");
		verify_cms_result(res, AR_PASS, s);
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
	verify_cms_result(res, r, why != NULL ? why : "signature cannot be processed");
}

/* Who the first signer claims to be, for a signature that failed. */
static void
claimed_signer(CMS_ContentInfo *cms, const char *from,
    struct verify_result *res)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	X509 *x = NULL;

	if (CMS_set1_signers_certs(cms, NULL, 0) >= 0 &&
	    sk_CMS_SignerInfo_num(sis) > 0)
		CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, 0), NULL, &x,
		    NULL, NULL);
	ERR_clear_error();
	if (x == NULL)
		return;
	cert_info(x, res);
	(void)addr_matches(x, from, res);
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
			verify_cms_result(&one, AR_PERMERROR,
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

void
verify_cms_check(const struct pki *pki, CMS_ContentInfo *cms, BIO *content,
    const char *from, time_t now, struct verify_result *res)
{
	STACK_OF(X509) *certs = NULL;
	STACK_OF(X509_CRL) *crls = NULL;
	BIO *out = NULL;
	int n = sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms));

	if (n <= 0) {
		verify_cms_result(res, AR_NONE, NULL);	/* certs-only: no signature */
		return;
	}
	if (n > VERIFY_MAX_SIGNERS) {
		verify_cms_result(res, AR_NEUTRAL, "too many signers");
		return;
	}
	certs = CMS_get1_certs(cms);
	crls = CMS_get1_crls(cms);
	if (sk_X509_num(certs) > VERIFY_MAX_CERTS ||
	    sk_X509_CRL_num(crls) > VERIFY_MAX_CRLS) {
		verify_cms_result(res, AR_NEUTRAL, "too many certificates in the signature");
		goto out;
	}
	if (content == NULL && (out = BIO_new(BIO_s_null())) == NULL) {
		verify_cms_result(res, AR_TEMPERROR, "internal error");
		goto out;
	}
	ERR_clear_error();
	if (CMS_verify(cms, NULL, NULL, content, out,
	    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		cms_failure(res);
		if (res->result == AR_FAIL)
			claimed_signer(cms, from, res);
		goto out;
	}
	check_signers(pki, cms, certs, crls, from, now, res);
out:
	BIO_free(out);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
}
