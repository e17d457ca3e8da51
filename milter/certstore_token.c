/*
 * certstore_token.c - store entries with their key in a PKCS#11 token
 * (see certstore_token.h). The token itself is p11.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "certstore_token.h"
#include "p11.h"
#include "util.h"

int
certstore_token_connect(const struct conf *c, int rw, char *why,
    size_t whylen)
{
	char *pin;
	int r;

	if (c->p11_module == NULL) {
		snprintf(why, whylen, "the configuration has no pkcs11 group");
		return -1;
	}
	if ((pin = certstore_read_secret(c->p11_pin_file)) == NULL) {
		snprintf(why, whylen, "cannot read pkcs11.pin_file %s",
		    c->p11_pin_file);
		return -1;
	}
	r = p11_connect(c->p11_module, c->p11_token, pin, rw, why, whylen);
	secret_free(pin, 0);
	return r;
}

int
certstore_token_read_crt(const char *path, X509 **cert, STACK_OF(X509) **ca,
    char *why, size_t whylen)
{
	BIO *b;
	X509 *x;

	*cert = NULL;
	*ca = sk_X509_new_null();
	if ((b = BIO_new_file(path, "r")) == NULL) {
		snprintf(why, whylen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (*cert == NULL)
			*cert = x;
		else
			sk_X509_push(*ca, x);
	}
	BIO_free(b);
	ERR_clear_error();
	if (*cert == NULL) {
		snprintf(why, whylen, "%s holds no PEM certificate", path);
		return -1;
	}
	return 0;
}

/* The URI file's one line; NULL when missing. Not secret, but read the
 * same careful way (no FIFO, no symbolic link). */
static char *
ct_read_uri(const char *path)
{
	return certstore_read_secret(path);
}

void
certstore_token_load(struct cert_entry *e, const struct conf *c,
    const struct pki *p, struct certstore_token *t, struct diag *d)
{
	STACK_OF(X509) *ca = NULL;
	char *crt, why[256];
	bool unsafe;

	crt = xasprintf("%.*s.crt", (int)(strlen(e->file) - 4), e->file);
	unsafe = certstore_file_unsafe(e->file, c, e, d);
	unsafe = certstore_file_unsafe(crt, c, e, d) || unsafe;
	if (unsafe)
		goto out;
	if ((e->uri = ct_read_uri(e->file)) == NULL || e->uri[0] == '\0') {
		certstore_entry_fail(e, CERT_BROKEN, "cannot read %s", e->file);
		goto out;
	}
	if (certstore_token_read_crt(crt, &e->cert, &ca, why,
	    sizeof(why)) != 0) {
		certstore_entry_fail(e, CERT_BROKEN, "%s", why);
		goto out;
	}
	certstore_validate(e, ca, c, p);
	if (c->p11_module == NULL)
		certstore_entry_fail(e, CERT_BROKEN, "a token entry, but the "
		    "configuration has no pkcs11 group");
	if (e->status != CERT_OK)
		goto out;	/* no certificate problem is the token's */
	if (!t->tried) {
		t->tried = true;
		t->rc = certstore_token_connect(c, 0, t->why, sizeof(t->why));
	}
	if (t->rc != 0)
		certstore_entry_fail(e, CERT_UNAVAILABLE, "token: %s", t->why);
	else if (p11_key(e->uri, e->cert, &e->key, why, sizeof(why)) != 0)
		certstore_entry_fail(e, CERT_UNAVAILABLE, "token: %s", why);
	else
		e->p11_epoch = p11_epoch();
out:
	free(crt);
	sk_X509_pop_free(ca, X509_free);
}
