/*
 * pki.c - trust anchors and CRLs for signer certificates (see pki.h).
 *
 * pki_load() builds one X509_STORE per configuration load; afterwards the
 * store is only read (each verification has its own X509_STORE_CTX), so
 * worker threads may share it. Problems are reported into a diag naming the
 * file; a trust_file that yields no certificate makes pki_load() fail.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "util.h"

/* The last OpenSSL error as text, or fallback; drains the queue. */
static const char *
pki_ssl_reason(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0) {
		snprintf(buf, len, "%s", fallback);
	} else {
		const char *r = ERR_reason_error_string(e);

		snprintf(buf, len, "%s", r ? r : fallback);
	}
	ERR_clear_error();
	return buf;
}

/*
 * Issuers without a CRL in crl_dir publish none here: not an error. An
 * expired (or not yet valid) CRL still revokes what it lists; load warns.
 */
static int
pki_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (ok)
		return ok;
	switch (X509_STORE_CTX_get_error(ctx)) {
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:	/* only others' CRLs (an
						   indirect one): none */
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	default:
		return ok;
	}
}

static int
pki_load_anchors(struct pki *p, const char *path, struct diag *d)
{
	char why[256];
	BIO *bio;
	X509 *x;

	ERR_clear_error();
	if ((bio = BIO_new_file(path, "r")) == NULL) {
		diag_add(d, DIAG_ERROR, path, 0, "pki.trust_file",
		    "cannot read: %s", strerror(errno ? errno : EIO));
		ERR_clear_error();
		return -1;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!X509_STORE_add_cert(p->store, x)) {
			diag_add(d, DIAG_WARNING, path, 0, "pki.trust_file",
			    "certificate not added: %s",
			    pki_ssl_reason(why, sizeof(why), "duplicate?"));
		}
		sk_X509_push(p->anchors, x);
	}
	ERR_clear_error();	/* the loop ends with "no start line" */
	BIO_free(bio);
	if (sk_X509_num(p->anchors) == 0) {
		diag_add(d, DIAG_ERROR, path, 0, "pki.trust_file",
		    "no PEM certificate found");
		return -1;
	}
	return 0;
}

/* Reads every CRL of one file: PEM (one or more) or else one DER. */
static int
pki_read_crl_file(const char *path, STACK_OF(X509_CRL) *out)
{
	X509_CRL *crl;
	BIO *bio;
	int n = 0;

	if ((bio = BIO_new_file(path, "rb")) == NULL)
		return -1;
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		sk_X509_CRL_push(out, crl);
		n++;
	}
	if (n == 0) {
		ERR_clear_error();
		(void)BIO_reset(bio);
		if ((crl = d2i_X509_CRL_bio(bio, NULL)) != NULL) {
			sk_X509_CRL_push(out, crl);
			n++;
		}
	}
	ERR_clear_error();
	BIO_free(bio);
	return n > 0 ? n : -1;
}

static void
pki_check_crl_time(X509_CRL *crl, const char *path, struct diag *d)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	const ASN1_TIME *last = X509_CRL_get0_lastUpdate(crl);

	if (next != NULL && X509_cmp_current_time(next) < 0)
		diag_add(d, DIAG_WARNING, path, 0, "pki.crl_dir",
		    "CRL is past its nextUpdate (still used for the serials "
		    "it lists)");
	if (last != NULL && X509_cmp_current_time(last) > 0)
		diag_add(d, DIAG_WARNING, path, 0, "pki.crl_dir",
		    "CRL is not yet valid (lastUpdate in the future)");
}

static void
pki_load_crls(struct pki *p, const char *dir, struct diag *d)
{
	STACK_OF(X509_CRL) *got;
	struct dirent **ents = NULL;
	struct stat st;
	char *path;
	int i, j, n;

	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0) {
		diag_add(d, DIAG_ERROR, dir, 0, "pki.crl_dir",
		    "cannot read folder: %s", strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		path = xasprintf("%s/%s", dir, ents[i]->d_name);
		if (ents[i]->d_name[0] == '.' || stat(path, &st) != 0 ||
		    !S_ISREG(st.st_mode))
			goto next;
		got = sk_X509_CRL_new_null();
		if (pki_read_crl_file(path, got) < 0) {
			diag_add(d, DIAG_ERROR, path, 0, "pki.crl_dir",
			    "not a readable CRL (PEM or DER)");
		}
		for (j = 0; j < sk_X509_CRL_num(got); j++) {
			X509_CRL *crl = sk_X509_CRL_value(got, j);

			pki_check_crl_time(crl, path, d);
			X509_STORE_add_crl(p->store, crl);
			sk_X509_CRL_push(p->crls, crl);	/* owns got's ref */
			pki_note_indirect(p, crl);	/* no ref of its own */
		}
		sk_X509_CRL_free(got);
		ERR_clear_error();
next:
		free(path);
		free(ents[i]);
	}
	free(ents);
}

struct pki *
pki_load(const struct conf *c, struct diag *d)
{
	struct pki *p = xcalloc(1, sizeof(*p));
	unsigned long flags = 0;

	if ((p->store = X509_STORE_new()) == NULL)
		goto fail;
	p->anchors = sk_X509_new_null();
	p->crls = sk_X509_CRL_new_null();
	if (p->anchors == NULL || p->crls == NULL)
		goto fail;
	if (c->trust_file == NULL || c->trust_file[0] == '\0') {
		diag_add(d, DIAG_ERROR, c->path, 0, "pki.trust_file",
		    "not set");
		goto fail;
	}
	if (pki_load_anchors(p, c->trust_file, d) != 0)
		goto fail;
	if (c->crl_dir != NULL && c->crl_dir[0] != '\0')
		pki_load_crls(p, c->crl_dir, d);
	p->crl_grace = c->crl_grace;
	/* extended support and deltas: every CRL shape of RFC 5280 (pki.h) */
	if (sk_X509_CRL_num(p->crls) > 0)
		flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL |
		    X509_V_FLAG_EXTENDED_CRL_SUPPORT | X509_V_FLAG_USE_DELTAS;
	if (flags != 0)
		X509_STORE_set_flags(p->store, flags);
	X509_STORE_set_purpose(p->store, X509_PURPOSE_SMIME_SIGN);
	X509_STORE_set_verify_cb(p->store, pki_verify_cb);
	p->ocsp = c->pki_ocsp;
	p->ocsp_timeout_ms = (long)c->ocsp_timeout * 1000;
	return p;
fail:
	ERR_clear_error();
	pki_free(p);
	return NULL;
}

void
pki_free(struct pki *p)
{
	if (p == NULL)
		return;
	X509_STORE_free(p->store);
	sk_X509_pop_free(p->anchors, X509_free);
	sk_X509_CRL_free(p->xcrls);
	sk_X509_CRL_pop_free(p->crls, X509_CRL_free);
	free(p);
}

int
pki_verify_cert(const struct pki *p, X509 *cert, STACK_OF(X509) *chain,
    time_t t)
{
	X509_STORE_CTX *ctx;
	STACK_OF(X509) *untrusted = NULL;
	STACK_OF(X509_CRL) *xcrls = NULL;
	int err = X509_V_ERR_UNSPECIFIED;

	if (p == NULL || cert == NULL)
		return X509_V_ERR_UNSPECIFIED;
	ERR_clear_error();
	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    (untrusted = pki_untrusted(p, chain)) == NULL)
		goto out;
	if (!X509_STORE_CTX_init(ctx, p->store, cert, untrusted))
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
	if ((xcrls = pki_crls(p, NULL)) != NULL)
		X509_STORE_CTX_set0_crls(ctx, xcrls);
	if (t != 0)
		X509_STORE_CTX_set_time(ctx, 0, t);
	if (X509_verify_cert(ctx) == 1)
		err = X509_V_OK;
	else if ((err = X509_STORE_CTX_get_error(ctx)) == X509_V_OK)
		err = X509_V_ERR_UNSPECIFIED;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	sk_X509_CRL_free(xcrls);
	ERR_clear_error();
	return err;
}

int
pki_is_revoked(const struct pki *p, X509 *cert)
{
	X509_REVOKED *rev;
	int i;

	if (p == NULL || cert == NULL)
		return 0;
	/* by cert: an entry of the cert's issuer, also in an indirect CRL
	 * (certificateIssuer) or a delta; 2 is removeFromCRL */
	for (i = 0; i < sk_X509_CRL_num(p->crls); i++)
		if (X509_CRL_get0_by_cert(sk_X509_CRL_value(p->crls, i), &rev,
		    cert) == 1)
			return 1;
	return 0;
}
