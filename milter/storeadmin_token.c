/*
 * storeadmin_token.c - keys into and out of the PKCS#11 token for segelctl
 * (see storeadmin_token.h). The token itself is p11.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certstore_token.h"
#include "p11.h"
#include "storeadmin.h"
#include "storeadmin_token.h"

/* CKA_ID: the subject key identifier, as most PKCS#11 tools choose it;
 * else the SHA-1 of the public key (which is what an SKI usually is). */
static void
st_key_id(X509 *cert, unsigned char id[EVP_MAX_MD_SIZE], size_t *idlen)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);
	unsigned int n = 0;

	if (ski != NULL && ASN1_STRING_length(ski) > 0 &&
	    ASN1_STRING_length(ski) <= EVP_MAX_MD_SIZE) {
		*idlen = (size_t)ASN1_STRING_length(ski);
		memcpy(id, ASN1_STRING_get0_data(ski), *idlen);
		return;
	}
	(void)X509_pubkey_digest(cert, EVP_sha1(), id, &n);
	*idlen = n;
}

/* ADDRESS.crt: the certificate, then the chain, PEM. */
static int
st_write_crt(const char *path, X509 *cert, STACK_OF(X509) *ca)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int i, ok, r = -1;

	if (b == NULL)
		return -1;
	ok = PEM_write_bio_X509(b, cert);
	for (i = 0; ok && i < sk_X509_num(ca); i++)
		ok = PEM_write_bio_X509(b, sk_X509_value(ca, i));
	n = BIO_get_mem_data(b, &p);
	if (ok && n > 0)
		r = storeadmin_write_atomic(path, p, (size_t)n, 0600);
	BIO_free(b);
	return r;
}

/* Writes .crt and .uri, then removes .p12 and .pass. */
static int
st_write_entry(const char *dir, const struct cert_entry *e,
    STACK_OF(X509) *ca, const char *uri, struct sbuf *err)
{
	char *crt = xasprintf("%s/%s.crt", dir, e->address);
	char *up = xasprintf("%s/%s.uri", dir, e->address);
	char *line = xasprintf("%s\n", uri), *f;
	const char *ext[] = { "p12", "pass" };
	int i, r = -1;

	if (st_write_crt(crt, e->cert, ca) != 0 ||
	    storeadmin_write_atomic(up, line, strlen(line), 0600) != 0) {
		sbuf_printf(err, "cannot write %s: %s", crt, strerror(errno));
		goto out;
	}
	for (i = 0; i < 2; i++) {
		f = xasprintf("%s/%s.%s", dir, e->address, ext[i]);
		if (unlink(f) != 0 && errno != ENOENT)
			sbuf_printf(err, "%scannot remove %s: %s", err->len ?
			    "; " : "", f, strerror(errno));
		free(f);
	}
	r = err->len ? -1 : 0;
out:
	free(crt);
	free(up);
	free(line);
	return r;
}

int
storeadmin_to_token(const struct conf *c, const struct cert_entry *e,
    STACK_OF(X509) *ca, char **uri, struct sbuf *err)
{
	unsigned char id[EVP_MAX_MD_SIZE];
	EVP_PKEY *proof = NULL;
	char why[256];
	size_t idlen = 0;

	*uri = NULL;
	if (certstore_token_connect(c, 1, why, sizeof(why)) != 0) {
		sbuf_printf(err, "token: %s", why);
		return -1;
	}
	st_key_id(e->cert, id, &idlen);
	if ((*uri = p11_store(e->key, e->address, id, idlen, why,
	    sizeof(why))) == NULL) {
		sbuf_printf(err, "token: %s", why);
		return -1;
	}
	/* the store is only changed once the token's copy is known to sign */
	if (p11_key(*uri, e->cert, &proof, why, sizeof(why)) != 0) {
		sbuf_printf(err, "token: the stored key does not sign: %s", why);
		(void)p11_remove(*uri, why, sizeof(why));
		return -1;
	}
	EVP_PKEY_free(proof);
	return st_write_entry(c->cert_dir, e, ca, *uri, err);
}

int
storeadmin_token_destroy(const struct conf *c, const char *uri,
    struct sbuf *err)
{
	char why[256];
	int r;

	if (certstore_token_connect(c, 1, why, sizeof(why)) != 0) {
		sbuf_printf(err, "token: %s", why);
		return -1;
	}
	if ((r = p11_remove(uri, why, sizeof(why))) < 0)
		sbuf_printf(err, "token: %s", why);
	return r;
}
