/*
 * smime_sign.h - turns a message's content into an S/MIME multipart/signed
 * entity (RFC 8551 §3.5.3) signed with the sender's certificate.
 *
 * The inner entity is built from the original top-level Content-* headers and
 * the body: every leaf made 7-bit (quoted-printable for text, base64 for the
 * rest), CRLF line ends, "From " lines and trailing white space protected,
 * the footer appended to each text/plain and text/html part a reader sees.
 * Those exact bytes are signed once (detached CMS SignedData, SHA-256,
 * CMS_BINARY, signingTime unless the request leaves it out (sigtime.h),
 * SMIMECapabilities AES-GCM/CBC, chain without the root) and never touched again. Nested multipart/signed and encrypted parts
 * are kept byte for byte.
 */
#ifndef SEGEL_SMIME_SIGN_H
#define SEGEL_SMIME_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "certstore.h"
#include "msgbuf.h"
#include "util.h"

struct sign_req {
	/* The original top-level Content-* header fields, each "Name: value"
	 * with CRLF after it (continuation lines keep their CRLF + WSP);
	 * "" when the message has none (text/plain; charset=us-ascii). */
	const char *content_headers;
	struct msgbuf *body;	/* the original body as received (CRLF,
				   possibly bare LF or 8-bit) */
	const char *footer;	/* UTF-8; NULL or "" for none */
	const struct cert_entry *signer;
	const char *tmp_dir;	/* for spooling large output, may be NULL */
	size_t memory_threshold;
	bool no_signing_time;	/* leave signingTime out (sigtime.h) */
	/* RFC 9788 (hp.h): the fields to copy into the signed part, as
	 * hp_collect() returns them; NULL: no header protection */
	const char *protected_headers;
};

struct sign_out {
	/* The new top-level Content-Type value: multipart/signed;
	 * protocol="application/pkcs7-signature"; micalg=sha-256;
	 * boundary="..." folded with "\n\t" as libmilter wants. */
	char *content_type;
	struct msgbuf *body;	/* the new body, CRLF throughout */
};

/* 0 on success; -1 with a plain-words reason in err (OpenSSL's queue is
 * drained into err as well). out is owned by the caller: sign_out_free(). */
int smime_sign(const struct sign_req *, struct sign_out *out, struct sbuf *err);
void sign_out_free(struct sign_out *);

/* True for a top-level Content-Type that is already S/MIME or encrypted:
 * multipart/signed, multipart/encrypted, application/(x-)pkcs7-mime. */
bool smime_is_protected(const char *content_type);

#endif
