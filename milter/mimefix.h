/*
 * mimefix.h - transport safety outside the leaves' content, for mimeprep.
 * GMime objects are changed in place; nothing is returned to free except
 * mimefix_message()'s new part (g_object_unref).
 */
#ifndef SEGEL_MIMEFIX_H
#define SEGEL_MIMEFIX_H

#include <gmime/gmime.h>

/* Header fields of o with raw 8-bit, a stray CR or a line over 900
 * octets are set again from their decoded value (RFC 2047/2231 encoded,
 * refolded); fields whose name is not printable ASCII are dropped. */
void mimefix_headers(GMimeObject *o);

/* 8-bit, stray CRs and overlong lines in mp's preamble and epilogue; a
 * boundary that is not RFC 2046 bchars is replaced by a new one. */
void mimefix_multipart(GMimeMultipart *mp);

/* For a prepared message/rfc822 part still unsafe (malformed inside): a
 * new application/octet-stream part "forwarded.eml" in base64 holding its
 * content, to put in its place; NULL when o is fine. */
GMimeObject *mimefix_message(GMimeObject *o);

#endif
