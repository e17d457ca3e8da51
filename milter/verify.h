/*
 * verify.h - verification of incoming S/MIME signatures (RFC 8551/8550)
 * and the RFC 7281 result.
 *
 * Signatures are looked for where a mail client shows one as covering the
 * message: a top-level multipart/signed; a top-level application/pkcs7-mime
 * or x-pkcs7-mime signed-data (also without smime-type); a multipart/signed
 * or pkcs7-mime that is the first part of a top-level multipart/mixed (a
 * list footer after it); an encrypted entity in those places is AR_SKIP.
 * body.smime-part: "2" (multipart/signed), "1.2" (multipart/signed first in
 * multipart/mixed), "1" (pkcs7-mime, top-level or first). Parsed with GMime,
 * verified with OpenSSL CMS on the exact received bytes canonicalized to
 * CRLF, never re-serialized.
 *
 * Time rule: the signer's chain is validated at the arrival time `now`
 * (passed in, so that tests can use a fixed clock). If the only failure is
 * that a certificate has expired, the chain is validated once more at the
 * CMS signingTime, provided signingTime lies inside the signer certificate's
 * validity, is not after `now` and at most 7 days before it: mail that was
 * in transit when the certificate expired still passes, an old certificate
 * with a back-dated signingTime does not ("certificate expired" = fail).
 *
 * Results:
 * - pass.
 * - fail: content altered; certificate revoked (by crl_dir or by a CRL the
 *   message carries, which may add revocations but never hide one),
 *   expired, or not issued by a trusted CA; certificate not for e-mail
 *   signing (KeyUsage without digitalSignature/nonRepudiation, or an EKU
 *   with neither emailProtection nor anyExtendedKeyUsage, RFC 8550 §4.4).
 * - policy: a valid signature that does not cover what a reader takes it
 *   for, or that local policy does not accept:
 *   - the signer's certificate addresses do not include From, or From does
 *     not show exactly one address (the caller passes NULL);
 *   - the certificate names no e-mail address at all;
 *   - the From inside the signed content (message/rfc822, RFC 9788 hp=)
 *     differs;
 *   - after a signed first part, anything but one short inline
 *     text/plain footer (a list's);
 *   - a weak digest (SHA-1) or key (RSA/DSA under 2048 bits).
 * - neutral: unparseable or unsupported S/MIME; or MIME a reader may read
 *   otherwise than segel (verify_mime.h): in any part of the message two
 *   Content-Type, Content-Transfer-Encoding or Content-Disposition fields,
 *   a parameter twice, a Content-* name with space before the colon, a
 *   boundary RFC 2046 does not allow, nesting deeper than 16; a bare CR
 *   outside the signed bytes; a signature part not typed pkcs7-signature;
 *   or segel's cut at RFC 2046 delimiters (only white space after one) and
 *   GMime's parse disagree on the number of parts or where they start.
 * - permerror: signer certificate not in the message.
 * - temperror: internal failure, no trust anchors; revocation status
 *   unknown (every CRL of crl_dir covering the chain is out of date beyond
 *   pki.crl_grace, pki.h; smime_verify() then also returns -1, with that
 *   comment).
 * - AR_SKIP: encrypted mail, and a signature over encrypted content (it
 *   says nothing about who wrote the plaintext). The CMS type decides; a
 *   smime-type label is believed only when it says enveloped.
 *
 * Memory: big bodies stay in the spool file (mapped, pages released as
 * read); the DER of opaque signed-data goes to a temporary file in the
 * body's tmp_dir and its content is never held whole (verify_der.h), so a
 * 42 MB nested opaque message verifies in a few MB (test_verify_memory).
 *
 * With several signers the worst result is reported. Nested signatures
 * inside the signed content are not examined. Input is bounded (signature
 * 1 MiB, 64 certificates, 16 CRLs, 8 signers).
 *
 * The caller must have called g_mime_init(). Thread-safe: the pki is only
 * read; every GMime and OpenSSL object is per call.
 */
#ifndef SEGEL_VERIFY_H
#define SEGEL_VERIFY_H

#include <time.h>

#include <openssl/x509.h>

#include "msgbuf.h"
#include "pki.h"

enum ar_result {
	AR_NONE,		/* not signed */
	AR_PASS,
	AR_FAIL,
	AR_POLICY,
	AR_NEUTRAL,
	AR_TEMPERROR,
	AR_PERMERROR,
	AR_SKIP			/* cannot be checked (encrypted): no result */
};

struct verify_result {
	enum ar_result result;
	char *comment;		/* plain words, without parentheses */
	char *identifier;	/* signer address, lower-case, or NULL */
	char *part;		/* IMAP section of the signature part, or NULL */
	char *serial;		/* upper-case hex, or NULL */
	char *issuer;		/* RFC 2253 DN, or NULL */
	char *signer_name;	/* subject CN (and O), or NULL */
	/* RFC 9788 (hp.h): the protected Subject and From of a signed part
	 * with an hp parameter, raw (LF folds), or NULL */
	char *hp_subject, *hp_from;
	/* the signer's certificate (a reference), for outbound checks of
	 * mail its sender's client signed (outbound_signed.h), or NULL */
	X509 *signer_cert;
};

/*
 * headers: the message's header block as "Name: value\r\n" lines (only the
 * Content-* fields matter); body: the body as received. from_addr: the
 * normalized From address or NULL. now: arrival time. Always fills res
 * (AR_NONE when no signature); returns 0, or -1 on an internal failure.
 */
int smime_verify(const struct pki *, const char *headers, struct msgbuf *body,
    const char *from_addr, time_t now, struct verify_result *res);
/*
 * For a message this gateway has just signed (headers: its Content-Type
 * as "Name: value\r\n" lines; body: the signed body): every rule of
 * smime_verify() but the signature check, so that what an inbound copy
 * would call policy or neutral is never pass on the internal copy. res is
 * filled by the caller as for a pass (result AR_PASS, identifier the
 * signer's address, comment, part...) and only lowered (the comment then
 * replaced). from_addr: From as do_verify derives it (NULL when From does
 * not show exactly one address). Returns -1 on an internal failure
 * (AR_TEMPERROR), else 0.
 */
int smime_verify_own(const char *headers, struct msgbuf *body,
    const char *from_addr, struct verify_result *res);
/* Frees the strings and zeroes *res (not res itself). Accepts NULL. */
void verify_result_free(struct verify_result *);

#endif
