/*
 * mimefilt.h - the signing path's byte filters (GMime filters; release
 * with g_object_unref()).
 */
#ifndef SEGEL_MIMEFILT_H
#define SEGEL_MIMEFILT_H

#include <gmime/gmime.h>

/*
 * Quoted-printable encoder for text: LF or CRLF in, LF line ends out
 * (a bare CR is encoded), encoded lines of at most 76 octets, blanks at
 * a line's end encoded, "From " at the start of an encoded line written
 * "=46rom ", a last line without line end closed by a soft break.
 */
GMimeFilter *mimefilt_qp_new(void);

#endif
