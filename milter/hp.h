/*
 * hp.h - RFC 9788 header protection, signed-only form ("hp=clear").
 *
 * Sending: the Cryptographic Payload (part 1 of the multipart/signed)
 * carries copies of the message's From, To, Cc, Reply-To, Subject, Date,
 * Message-ID, In-Reply-To and References fields, those present, in the
 * order the message has them, and its Content-Type has the parameter
 * hp="clear" (RFC 9788 §2.1). The outer fields stay as they are (§4.1 for
 * a signed-only message: the outer header is the inner one). Copies are
 * byte for byte when the field is 7-bit with lines of at most 998 octets;
 * otherwise the value is decoded and written again by GMime (RFC 2047
 * encoded-words, folded), so part 1 stays 7-bit. No Legacy Display
 * Element: RFC 9788 uses it only when encryption hides header fields.
 *
 * Receiving: a signed part with an hp parameter is what a reader that knows
 * RFC 9788 shows instead of the outer header. A pass stands only when the
 * outer From, To, Subject and Date say what the protected copies say
 * (compared unfolded, encoded-words decoded, white space collapsed; Date
 * as an instant); otherwise smime=policy naming the fields.
 */
#ifndef SEGEL_HP_H
#define SEGEL_HP_H

#include <gmime/gmime.h>

#include "verify.h"

/*
 * The protected fields of headers ("Name: value\r\n" lines, continuation
 * lines with their CRLF + WSP) as the same kind of lines, in message order,
 * with "Date: date_added" after them when date_added is not NULL (the Date
 * segel adds). NULL when there is none. Caller frees.
 */
char *hp_collect(const char *headers, const char *date_added);

/* Adds fields (as hp_collect returns them) to o's header and hp="clear"
 * to its Content-Type. */
void hp_apply(GMimeObject *o, const char *fields);

/*
 * For a pass whose signed part inner has an hp parameter: lowers res to
 * policy when outer (the message's own header) differs from inner in From,
 * To, Subject or Date, naming them; fills res->hp_subject and res->hp_from
 * with the protected Subject and From (the raw values) either way.
 */
void hp_check(GMimeObject *outer, GMimeObject *inner,
    struct verify_result *res);

#endif
