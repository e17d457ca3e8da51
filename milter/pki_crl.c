/*
 * pki_crl.c - the CRL shapes of RFC 5280 and the stale-CRL rule (pki.h).
 *
 * Which CRL covers a certificate: one its issuer signed (whichever key
 * the issuer signed it with: a separate CRL-signing key keeps the CA's
 * name), or an indirect CRL signed by the cRLIssuer its CRL distribution
 * point names (RFC 5280 4.2.1.13). Delta CRLs only add to a base CRL, so
 * they never make an issuer's revocation data current on their own.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "util.h"

char *
pki_name_text(const X509_NAME *nm)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *s = NULL, *p;
	long n;

	if (bio != NULL && X509_NAME_print_ex(bio, nm, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(bio, &p)) >= 0)
		s = xstrndup(p, (size_t)n);
	BIO_free(bio);
	return s != NULL ? s : xstrdup("?");
}

STACK_OF(X509) *
pki_untrusted(const struct pki *p, STACK_OF(X509) *certs)
{
	STACK_OF(X509) *all;
	int i;

	all = certs != NULL ? sk_X509_dup(certs) : sk_X509_new_null();
	if (all == NULL)
		return NULL;
	for (i = 0; p != NULL && i < sk_X509_num(p->anchors); i++)
		if (!sk_X509_push(all, sk_X509_value(p->anchors, i)))
			break;
	return all;
}

void
pki_note_indirect(struct pki *p, X509_CRL *crl)
{
	ISSUING_DIST_POINT *idp;

	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, NULL,
	    NULL);
	if (idp != NULL && idp->indirectCRL) {
		if (p->xcrls == NULL)
			p->xcrls = sk_X509_CRL_new_null();
		if (p->xcrls != NULL)
			(void)sk_X509_CRL_push(p->xcrls, crl);
	}
	ISSUING_DIST_POINT_free(idp);
}

STACK_OF(X509_CRL) *
pki_crls(const struct pki *p, STACK_OF(X509_CRL) *crls)
{
	STACK_OF(X509_CRL) *all;
	int i;

	if (sk_X509_CRL_num(p->xcrls) <= 0)
		return NULL;
	if ((all = crls != NULL ? sk_X509_CRL_dup(crls) :
	    sk_X509_CRL_new_null()) == NULL)
		return NULL;
	for (i = 0; i < sk_X509_CRL_num(p->xcrls); i++)
		(void)sk_X509_CRL_push(all, sk_X509_CRL_value(p->xcrls, i));
	return all;
}

/* True when crl carries a deltaCRLIndicator (RFC 5280 5.2.4). */
static bool
crl_is_delta(X509_CRL *crl)
{
	return X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0;
}

/* True when a distribution point of cert names nm as its cRLIssuer. */
static bool
dp_names_crl_issuer(X509 *cert, const X509_NAME *nm)
{
	STACK_OF(DIST_POINT) *dps;
	DIST_POINT *dp;
	GENERAL_NAME *gn;
	bool found = false;
	int i, j;

	dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	for (i = 0; !found && i < sk_DIST_POINT_num(dps); i++) {
		dp = sk_DIST_POINT_value(dps, i);
		for (j = 0; !found && j < sk_GENERAL_NAME_num(dp->CRLissuer);
		    j++) {
			gn = sk_GENERAL_NAME_value(dp->CRLissuer, j);
			found = gn->type == GEN_DIRNAME &&
			    X509_NAME_cmp(gn->d.directoryName, nm) == 0;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return found;
}

/* True when crl (a base CRL) is one of cert's, as the header says. */
static bool
crl_covers(X509_CRL *crl, X509 *cert)
{
	const X509_NAME *cnm = X509_CRL_get_issuer(crl);

	if (crl_is_delta(crl))
		return false;
	return X509_NAME_cmp(cnm, X509_get_issuer_name(cert)) == 0 ||
	    dp_names_crl_issuer(cert, cnm);
}

/* True when crl is current at t: before its nextUpdate plus grace. */
static bool
crl_current(X509_CRL *crl, time_t t, long grace)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	time_t limit = t - grace;

	if (next == NULL)
		return true;	/* RFC 5280 requires it; none: no end */
	return X509_cmp_time(next, &limit) >= 0;
}

/* The staleness of one certificate's CRLs; *why set when stale. */
static int
cert_crl_stale(const struct pki *p, X509 *cert, time_t t, char **why)
{
	X509_CRL *crl, *stale = NULL;
	char *issuer, nb[64] = "?";
	BIO *bio;
	int i, len;

	if (X509_check_issued(cert, cert) == X509_V_OK)
		return 0;	/* an anchor: no one revokes it */
	for (i = 0; i < sk_X509_CRL_num(p->crls); i++) {
		crl = sk_X509_CRL_value(p->crls, i);
		if (!crl_covers(crl, cert))
			continue;
		if (crl_current(crl, t, p->crl_grace))
			return 0;
		stale = crl;
	}
	if (stale == NULL)
		return 0;
	if ((bio = BIO_new(BIO_s_mem())) != NULL) {
		ASN1_TIME_print(bio, X509_CRL_get0_nextUpdate(stale));
		len = BIO_read(bio, nb, sizeof(nb) - 1);
		nb[len > 0 ? len : 0] = '\0';
		BIO_free(bio);
	}
	issuer = pki_name_text(X509_CRL_get_issuer(stale));
	*why = xasprintf("revocation status unknown: the CRL of %s is past "
	    "its nextUpdate (%s) by more than pki.crl_grace (%lds)",
	    issuer, nb, p->crl_grace);
	free(issuer);
	return 1;
}

int
pki_crl_stale(const struct pki *p, X509 *cert, STACK_OF(X509) *chain,
    time_t t, char **why)
{
	int i;

	*why = NULL;
	if (p == NULL || cert == NULL)
		return 0;
	if (t == 0)
		t = time(NULL);
	if (cert_crl_stale(p, cert, t, why))
		return 1;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (cert_crl_stale(p, sk_X509_value(chain, i), t, why))
			return 1;
	return 0;
}
