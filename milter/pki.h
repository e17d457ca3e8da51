/*
 * pki.h - the trust anchors and revocation data, built once per
 * configuration load and then shared read-only between threads.
 *
 * pki_load() reads pki.trust_file (PEM, one or more CA certificates) and
 * every CRL in pki.crl_dir (PEM or DER, one per file). When CRLs are present
 * the store checks revocation of the whole chain (X509_V_FLAG_CRL_CHECK|
 * CRL_CHECK_ALL); an issuer for which no CRL is known is accepted (no CRL
 * is published for it), and an expired CRL still counts for the serials it
 * lists (logged as a warning at load). Whether an expired CRL still tells
 * that a certificate is not revoked is the stale-CRL rule (pki_crl_stale,
 * pki.crl_grace), which the signer and the verifier apply on top. Purpose: S/MIME signing.
 *
 * Both exceptions are made by the store's verify callback, which clears
 * X509_V_ERR_UNABLE_TO_GET_CRL, X509_V_ERR_DIFFERENT_CRL_SCOPE (only CRLs
 * that do not cover it: none), X509_V_ERR_CRL_HAS_EXPIRED and
 * X509_V_ERR_CRL_NOT_YET_VALID; every other error stands. A CRL file that
 * cannot be read is a DIAG_ERROR naming it (the others still load).
 * pki_verify_cert() uses its own X509_STORE_CTX and never changes the store,
 * so one struct pki may be used by many threads at once.
 */
#ifndef SEGEL_PKI_H
#define SEGEL_PKI_H

#include <time.h>

#include <openssl/x509.h>

#include "conf.h"
#include "diag.h"

struct pki {
	X509_STORE *store;		/* trust anchors + CRLs + flags */
	STACK_OF(X509) *anchors;	/* the certificates of trust_file */
	STACK_OF(X509_CRL) *crls;	/* the CRLs of crl_dir */
	int ocsp;			/* pki.ocsp: enum ocsp_mode (ocsp.h) */
	long ocsp_timeout_ms;		/* pki.ocsp_timeout */
	long crl_grace;			/* pki.crl_grace, seconds */
	STACK_OF(X509_CRL) *xcrls;	/* the indirect ones among crls:
					   pki_crls() */
};

/* Returns NULL (problems in d) when trust_file cannot be used. */
struct pki *pki_load(const struct conf *, struct diag *d);
void pki_free(struct pki *);

/*
 * Verifies cert with the untrusted chain at time t (0: now) for S/MIME
 * signing. Returns the X509_V_ERR_* code (X509_V_OK on success).
 */
int pki_verify_cert(const struct pki *, X509 *cert, STACK_OF(X509) *chain,
    time_t t);
/* True when cert's serial is listed by a CRL of its issuer in pki. */
int pki_is_revoked(const struct pki *, X509 *cert);

/*
 * pki_crl.c: every CRL shape of RFC 5280 (a CRL signed by the CA's separate
 * CRL-signing key, an indirect CRL, a delta CRL) is used by OpenSSL's
 * extended CRL support, which pki_load() turns on; a CRL signer that is
 * not on the certificate's path is looked for among the untrusted
 * certificates, so every verification passes pki_untrusted()'s stack: its
 * own certificates plus those of trust_file (where a CRL-signing
 * certificate is put). Free it with sk_X509_free() (no references taken).
 */
STACK_OF(X509) *pki_untrusted(const struct pki *, STACK_OF(X509) *certs);
/* nm as RFC 2253 text ("CN=...,O=...,C=ID"); caller frees. */
char *pki_name_text(const X509_NAME *nm);
/*
 * OpenSSL's store finds a CRL by the certificate's issuer name, so never an
 * indirect CRL: those are given to each verification with the message's
 * own (crls, may be NULL). NULL when there are none; else a new stack,
 * freed with sk_X509_CRL_free().
 */
STACK_OF(X509_CRL) *pki_crls(const struct pki *, STACK_OF(X509_CRL) *crls);
/* Notes crl (of crl_dir, already in p->crls) in p->xcrls when indirect. */
void pki_note_indirect(struct pki *, X509_CRL *crl);

/*
 * The stale-CRL rule. A certificate is "covered" by a CRL of crl_dir that
 * its issuer signed (or, for an indirect CRL, that the cRLIssuer of its
 * CRL distribution point signed); deltas aside. When every CRL covering
 * cert or a certificate of chain (the anchor aside) is past its nextUpdate
 * by more than pki.crl_grace at time t, the revocation status is unknown:
 * returns 1 and says which CRL in *why (caller frees). 0 when each is
 * current or covered by none (an issuer that publishes no CRL here).
 */
int pki_crl_stale(const struct pki *, X509 *cert, STACK_OF(X509) *chain,
    time_t t, char **why);

#endif
