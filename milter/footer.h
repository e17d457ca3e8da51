/*
 * footer.h - the signing footer in a text/plain or text/html part.
 *
 * text/plain gets "\n-- \nFOOTER\n" at the end (the RFC 3676 signature
 * separator, so readers show it as a footer and leave it out of replies);
 * text/html gets "<p>FOOTER</p>" (escaped, non-ASCII as &#N;) before the
 * last </body>, or at the end when there is none.
 */
#ifndef SEGEL_FOOTER_H
#define SEGEL_FOOTER_H

#include <stdbool.h>

#include <gmime/gmime.h>

/*
 * text: the part's decoded content with LF line ends, in its charset;
 * footer: UTF-8. Converts the footer to the charset; when the charset
 * cannot hold it, converts text to UTF-8 and relabels the part.
 */
void footer_add(GMimePart *part, GByteArray *text, const char *footer,
    bool html);

#endif
