/*
 * ocsp.h - revocation status from a certificate's OCSP responder (RFC 6960),
 * for the store's signing certificates and for inbound signers.
 *
 * pki.ocsp says whether to ask: "off" never; "on" asks the responder named
 * in the certificate's Authority Information Access, takes "revoked" as
 * final and falls back to the CRL result on "unknown" or no answer;
 * "required" is "on" where a certificate that names a responder and gets
 * no good or revoked answer is not relied on (signing: tempfail, key
 * unavailable; verification: temperror).
 *
 * A request carries a nonce; an answer whose nonce differs is a replay and
 * is rejected, one without a nonce must be within its thisUpdate/nextUpdate
 * (five minutes of clock skew). The answer's signature must chain to
 * pki.trust_file and its signer must be the certificate's issuer or a
 * responder that issuer delegated (extended key usage OCSPSigning).
 * Answers are cached, process-wide, until their nextUpdate; a responder
 * that did not answer (or answered what is not accepted) is not asked
 * again for OCSP_RETRY seconds, or until the next reload.
 *
 * Time: each query is bounded by pki.ocsp_timeout, and all the queries of
 * one message together by the same amount (ocsp_message_begin()), so mail
 * never waits longer than the timeout for OCSP.
 */
#ifndef SEGEL_OCSP_H
#define SEGEL_OCSP_H

#include <stddef.h>

#include <openssl/x509.h>

#include "certstore.h"
#include "pki.h"

enum ocsp_mode { OCSP_OFF, OCSP_ON, OCSP_REQUIRED };

enum ocsp_status {
	OCSP_ST_NONE,		/* not asked: off, or no responder named */
	OCSP_ST_GOOD,
	OCSP_ST_REVOKED,
	OCSP_ST_UNKNOWN,	/* the responder does not know it */
	OCSP_ST_NOANSWER	/* down, slow, or an answer not accepted */
};

#define OCSP_RETRY	60	/* s a silent responder is left alone */
#define OCSP_SKEW	300	/* s of clock difference accepted */
#define OCSP_MAX_ANSWER	(64 * 1024)

/*
 * The status of cert from its responder. untrusted: certificates that may
 * hold its issuer and the responder's chain (the message's, or the store
 * entry's chain); the issuer is also looked for among the trust anchors.
 * why (may be NULL) gets plain words for the log and the verdict.
 */
enum ocsp_status ocsp_check(const struct pki *p, X509 *cert,
    STACK_OF(X509) *untrusted, char *why, size_t whylen);

/* Starts this thread's per-message time budget (pki.ocsp_timeout). */
void ocsp_message_begin(const struct pki *p);

/* "none", "good", "revoked", "unknown", "no answer" */
const char *ocsp_status_name(enum ocsp_status);

/*
 * The signing verdict on a store certificate that is otherwise CERT_OK:
 * CERT_REVOKED when its responder says revoked, CERT_UNAVAILABLE when
 * pki.ocsp is "required" and no good answer came, else CERT_OK. Logs.
 */
enum cert_status ocsp_signing_status(const struct pki *p,
    const struct cert_entry *e, const char *qid);

/* Empties the cache: answers and silent responders (tests). */
void ocsp_cache_clear(void);
/* Forgets the silent responders only: each reload asks them again. */
void ocsp_forget_silence(void);

#endif
