/*
 * verify_mime.h - internal to verify.c: the received bytes of a message and
 * whether GMime's reading of its structure is the only one a reader can
 * make (RFC 2046 delimiters, one Content-* field of each kind in every
 * part, bounded nesting, no bare CR in the structure).
 */
#ifndef SEGEL_VERIFY_MIME_H
#define SEGEL_VERIFY_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gmime/gmime.h>

#include "msgbuf.h"

/* Deepest nesting of multiparts and messages examined. */
#define VMIME_MAX_DEPTH	16

/* The received body: in memory, or the spool file mapped read-only. */
struct raw {
	const char *p;
	size_t n;
	void *map;
	int64_t base;		/* offset of p[0] in the stream GMime parsed */
};

int vmime_open(struct msgbuf *, struct raw *);
void vmime_close(struct raw *);
/* Releases the mapped pages wholly inside [from, to) from RSS. */
void vmime_drop(const char *from, const char *to);
#define VMIME_DROP_STEP (1u << 20)

/*
 * RFC 2046 §5.1.1: 1 when line l (n bytes, its EOL included) is "--b"
 * followed by transport padding only, 2 for "--b--" and padding, else 0.
 */
int vmime_delim(const char *l, size_t n, const char *b, size_t bl);
/*
 * Child idx (0-based) of the multipart body p: *off and *len of its bytes
 * without the EOL that belongs to the following delimiter. -1 when absent.
 */
int vmime_child(const char *p, size_t n, const char *b, int idx, size_t *off,
    size_t *len, bool mapped);
/* The number of children of the multipart body p before its close
 * delimiter (or its end). */
int vmime_count(const char *p, size_t n, const char *b, bool mapped);
/* Offset of an entity's body: after the first empty line. */
int vmime_body(const char *p, size_t n, size_t *off);
/* True when p holds a CR that does not start a CRLF. */
bool vmime_bare_cr(const char *p, size_t n, bool mapped);
/* RFC 2046 boundary syntax: 1 to 70 bchars, the last not a space. */
bool vmime_boundary_ok(const char *b);

/* Header fields of o named name (white space before the colon allowed). */
int vmime_hdr_count(GMimeObject *o, const char *name);
/*
 * Why a reader could read some part of the tree under o otherwise than
 * GMime did (a static string), or NULL: two Content-Type,
 * Content-Transfer-Encoding or Content-Disposition fields, a Content-*
 * name with white space before the colon, a parameter twice, a boundary
 * RFC 2046 does not allow, nesting deeper than VMIME_MAX_DEPTH.
 */
const char *vmime_ambiguous(GMimeObject *o);
/*
 * True when the multipart mp, whose body is the bytes [off, off + len) of
 * raw, has as many children by vmime_count as GMime found, and every child
 * with header fields starts where vmime_child says.
 */
bool vmime_agrees(const struct raw *raw, size_t off, size_t len,
    GMimeMultipart *mp);

#endif
