/*
 * mimeprep.h - turns a message's content (its top-level Content-* header
 * fields and body) into the canonical MIME entity that smime_sign signs
 * (RFC 8551 §3.1): every leaf 7-bit (quoted-printable for text, base64
 * for the rest; clean base64 is kept as is), CRLF line ends, "From " lines
 * and trailing white space protected by quoted-printable, and the footer
 * appended to each text/plain and text/html part a reader sees.
 *
 * Nested multipart/signed, multipart/encrypted and application/pkcs7-mime
 * parts are kept byte for byte (so 8-bit inside them stays: a known limit).
 * Header fields with raw 8-bit, stray CRs or overlong lines are re-encoded
 * and refolded; a forwarded message (message/rfc822) that is malformed
 * beyond that is carried as a base64 attachment "forwarded.eml". Everything GMime is created and freed within
 * the call (GMime objects never cross threads); g_mime_init() must have been
 * called once by the process.
 *
 * The footer (footer.h) goes into each text/plain and text/html part a
 * reader sees: not parts with Content-Disposition: attachment or a file
 * name, nor parts inside a message/rfc822 attachment; in a
 * multipart/alternative into each alternative.
 */
#ifndef SEGEL_MIMEPREP_H
#define SEGEL_MIMEPREP_H

#include <stdbool.h>

#include "msgbuf.h"
#include "util.h"

/*
 * Appends the entity to out. content_headers: "Name: value" CRLF lines, ""
 * for none (then text/plain; charset=us-ascii). body is only read. footer is
 * UTF-8, NULL or "" for none. 0 on success, -1 with a reason in err.
 */
int mimeprep_entity(const char *content_headers, const struct msgbuf *body,
    const char *footer, struct msgbuf *out, struct sbuf *err);
/* The same, with RFC 9788 header protection (hp.h): the fields in
 * protected ("Name: value" CRLF lines, NULL for none) copied into the
 * entity's header and hp="clear" on its Content-Type. */
int mimeprep_entity_hp(const char *content_headers, const char *protected,
    const struct msgbuf *body, const char *footer, struct msgbuf *out,
    struct sbuf *err);

/* True for a Content-Type value (parameters ignored) that is already signed
 * or encrypted: multipart/signed, multipart/encrypted,
 * application/pkcs7-mime, application/x-pkcs7-mime. */
bool mimeprep_is_protected(const char *content_type);

#endif
