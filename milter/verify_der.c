/*
 * verify_der.c - an opaque SignedData split into its content and a small
 * detached SignedData (see verify_der.h).
 *
 * Public: vder_split, vder_type.
 *
 * Every length is checked against the bytes that hold it (OpenSSL's
 * ASN1_get_object does the decoding); anything unexpected gives -1 or 1
 * and the caller decides (neutral, or the in-memory path for small BER).
 */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "util.h"
#include "verify_der.h"

/* One element at *p (before end): its content [*c, *c + *len); *p moves
 * past it. The tag and class must match; definite length only. */
static int
elem(const unsigned char **p, const unsigned char *end, int tag, int cls,
    bool constructed, const unsigned char **c, long *len)
{
	const unsigned char *q = *p;
	int t, k, r;

	if (end <= q || end - q > LONG_MAX)
		return -1;
	r = ASN1_get_object(&q, len, &t, &k, (long)(end - q));
	if (r & 0x80)
		return -1;
	if (r & 0x01)		/* indefinite length: BER */
		return VDER_BER;
	if (t != tag || k != cls || ((r & V_ASN1_CONSTRUCTED) != 0) != constructed)
		return -1;
	*c = q;
	*p = q + *len;
	return 0;
}

/* Skips one element of any tag (definite length). */
static int
skip(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *q = *p;
	long len;
	int t, k, r;

	if (end <= q || end - q > LONG_MAX)
		return -1;
	r = ASN1_get_object(&q, &len, &t, &k, (long)(end - q));
	if (r & 0x80)
		return -1;
	if (r & 0x01)
		return VDER_BER;
	*p = q + len;
	return 0;
}

static unsigned char *
put_hdr(unsigned char *o, int tag, int cls, long len)
{
	ASN1_put_object(&o, 1, (int)len, tag, cls);
	return o;
}

static unsigned char *
put(unsigned char *o, const unsigned char *from, const unsigned char *to)
{
	memcpy(o, from, (size_t)(to - from));
	return o + (to - from);
}

#define U V_ASN1_UNIVERSAL
#define C V_ASN1_CONTEXT_SPECIFIC

/* Where the parts of a ContentInfo lie, in order. */
struct sd {
	const unsigned char *oid, *h2, *c3, *eci, *c4, *econt, *end4, *end3;
	const unsigned char *content;
	long l4, clen;
};

/* ContentInfo { contentType, [0] SignedData { version, digestAlgorithms,
 * encapContentInfo { eContentType, [0] OCTET STRING }, ... } } */
static int
walk(const unsigned char *der, size_t n, struct sd *s)
{
	const unsigned char *p = der, *end = der + n, *c1, *c2, *c5, *x;
	long l1, l2, l3, l5;
	int r;

	if ((r = elem(&p, end, V_ASN1_SEQUENCE, U, true, &c1, &l1)) != 0)
		return r;
	p = s->oid = c1;
	end = c1 + l1;
	if ((r = elem(&p, end, V_ASN1_OBJECT, U, false, &x, &l5)) != 0)
		return r;
	s->h2 = p;
	if ((r = elem(&p, end, 0, C, true, &c2, &l2)) != 0)
		return r;
	if (p != end)
		return -1;
	p = c2;
	if ((r = elem(&p, c2 + l2, V_ASN1_SEQUENCE, U, true, &s->c3, &l3)) != 0)
		return r;
	if (p != c2 + l2)
		return -1;
	p = s->c3;
	s->end3 = s->c3 + l3;
	if ((r = skip(&p, s->end3)) != 0 || (r = skip(&p, s->end3)) != 0)
		return r;		/* version, digestAlgorithms */
	s->eci = p;
	if ((r = elem(&p, s->end3, V_ASN1_SEQUENCE, U, true, &s->c4, &s->l4)) != 0)
		return r;
	p = s->c4;
	s->end4 = s->c4 + s->l4;
	if ((r = elem(&p, s->end4, V_ASN1_OBJECT, U, false, &x, &l5)) != 0)
		return r;
	s->econt = p;
	if (p == s->end4)
		return VDER_ABSENT;	/* detached */
	if ((r = elem(&p, s->end4, 0, C, true, &c5, &l5)) != 0)
		return r;
	p = c5;
	if ((r = elem(&p, c5 + l5, V_ASN1_OCTET_STRING, U, false, &s->content,
	    &s->clen)) != 0)
		return VDER_BER;	/* a constructed OCTET STRING */
	return p == s->end4 ? 0 : -1;
}

int
vder_split(const unsigned char *der, size_t n, unsigned char **out,
    size_t *outlen, size_t *coff, size_t *clen)
{
	long n4, n3, n2, n1;
	unsigned char *o, *q;
	struct sd s;
	int r;

	*out = NULL;
	if ((r = walk(der, n, &s)) != 0)
		return r;
	/* lengths from the inside out: a header may shrink with its length */
	n4 = (long)(s.econt - s.c4);
	n3 = (long)(s.eci - s.c3) + ASN1_object_size(1, n4, V_ASN1_SEQUENCE) +
	    (long)(s.end3 - s.end4);
	n2 = ASN1_object_size(1, n3, V_ASN1_SEQUENCE);
	n1 = (long)(s.h2 - s.oid) + ASN1_object_size(1, n2, 0);
	if (ASN1_object_size(1, n1, V_ASN1_SEQUENCE) <= 0)
		return -1;
	o = q = xmalloc((size_t)ASN1_object_size(1, n1, V_ASN1_SEQUENCE));
	q = put_hdr(q, V_ASN1_SEQUENCE, U, n1);
	q = put(q, s.oid, s.h2);
	q = put_hdr(q, 0, C, n2);
	q = put_hdr(q, V_ASN1_SEQUENCE, U, n3);
	q = put(q, s.c3, s.eci);
	q = put_hdr(q, V_ASN1_SEQUENCE, U, n4);
	q = put(q, s.c4, s.econt);
	q = put(q, s.end4, s.end3);
	*out = o;
	*outlen = (size_t)(q - o);
	*coff = (size_t)(s.content - der);
	*clen = (size_t)s.clen;
	return 0;
}

int
vder_type(const unsigned char *p, size_t n)
{
	const unsigned char *q;
	ASN1_OBJECT *obj;
	size_t h = 2;
	int nid;

	/* the SEQUENCE header by hand: ASN1_get_object refuses a length
	 * longer than the bytes at hand, and only the first ones are here */
	if (n < 2 || p[0] != 0x30)
		return NID_undef;
	if (p[1] > 0x80)
		h += p[1] & 0x7f;
	if (p[1] > 0x84 || h >= n)
		return NID_undef;
	q = p + h;
	obj = d2i_ASN1_OBJECT(NULL, &q, (long)(n - h));
	if (obj == NULL) {
		ERR_clear_error();
		return NID_undef;
	}
	nid = OBJ_obj2nid(obj);
	ASN1_OBJECT_free(obj);
	return nid;
}
