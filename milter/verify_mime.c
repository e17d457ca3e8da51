/*
 * verify_mime.c - the received bytes of a message, cut at RFC 2046
 * delimiters, and the checks that GMime's reading of the structure is the
 * one every reader makes (see verify_mime.h).
 *
 * Public: vmime_open, vmime_close, vmime_drop, vmime_delim, vmime_child,
 * vmime_count, vmime_body, vmime_bare_cr, vmime_boundary_ok,
 * vmime_hdr_count, vmime_ambiguous, vmime_agrees.
 *
 * Why: segel verifies bytes it cuts itself and reports on the structure
 * GMime parsed, while the reader shows what its own parser found. A pass
 * holds only when these are one reading; where another parser could read
 * the same bytes differently (a duplicate field, a bare CR that ends a line
 * for one and not the other, a boundary with trailing space) the caller
 * says neutral instead.
 */
#include <sys/mman.h>

#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "verify_mime.h"

#define VMIME_MAX_PARTS		1000	/* children of one multipart */
#define VMIME_MAX_PARAMS	64	/* parameters of one field */
#define VMIME_AGREE_MAX		16	/* children whose start is compared */

int
vmime_open(struct msgbuf *body, struct raw *r)
{
	memset(r, 0, sizeof(*r));
	r->n = msgbuf_len(body);
	if ((r->p = msgbuf_mem(body)) != NULL)
		return 0;
	if (r->n == 0) {
		r->p = "";
		return 0;
	}
	r->map = mmap(NULL, r->n, PROT_READ, MAP_PRIVATE, msgbuf_fd(body), 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return -1;
	}
	r->p = r->map;
	return 0;
}

void
vmime_close(struct raw *r)
{
	if (r->map != NULL)
		munmap(r->map, r->n);
	r->map = NULL;
}

/* The mapping is a read-only private file mapping: pages touched again
 * refault from the page cache. */
void
vmime_drop(const char *from, const char *to)
{
	uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)from + ps - 1) & ~(ps - 1);
	uintptr_t b = (uintptr_t)to & ~(ps - 1);

	if (b > a)
		(void)madvise((void *)a, b - a, MADV_DONTNEED);
}

int
vmime_delim(const char *l, size_t n, const char *b, size_t bl)
{
	size_t i;
	int kind = 1;

	if (bl == 0 || n < 2 + bl || l[0] != '-' || l[1] != '-' ||
	    memcmp(l + 2, b, bl) != 0)
		return 0;
	i = 2 + bl;
	if (n >= i + 2 && l[i] == '-' && l[i + 1] == '-') {
		kind = 2;
		i += 2;
	}
	/* transport padding, then the EOL (or the end of the data) */
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i == n || (l[i] == '\n' && i + 1 == n) ||
	    (l[i] == '\r' && i + 2 == n && l[i + 1] == '\n'))
		return kind;
	return 0;
}

/*
 * One pass over a multipart body: the start of each child (up to max of
 * them) and where each ends (before the EOL of the next delimiter). The
 * number of children, or -1 when the first delimiter is missing.
 */
static int
scan(const char *p, size_t n, const char *b, size_t *start, size_t *end,
    int max, bool mapped)
{
	size_t i = 0, le, bl = strlen(b), dropped = 0, e;
	const char *eol;
	int k = 0, d;

	while (i < n) {
		eol = memchr(p + i, '\n', n - i);
		le = eol != NULL ? (size_t)(eol - (p + i)) + 1 : n - i;
		if ((d = vmime_delim(p + i, le, b, bl)) != 0) {
			if (k > 0 && k <= max) {
				e = i;
				if (e > start[k - 1] && p[e - 1] == '\n')
					e--;
				if (e > start[k - 1] && p[e - 1] == '\r')
					e--;
				end[k - 1] = e;
			}
			if (d == 2)
				return k > 0 ? k : -1;
			if (k < max)
				start[k] = i + le;
			k++;
		}
		i += le;
		if (mapped && i - dropped >= VMIME_DROP_STEP) {
			vmime_drop(p + dropped, p + i);
			dropped = i;
		}
	}
	if (k > 0 && k <= max)
		end[k - 1] = n;
	return k > 0 ? k : -1;
}

int
vmime_child(const char *p, size_t n, const char *b, int idx, size_t *off,
    size_t *len, bool mapped)
{
	size_t start[VMIME_AGREE_MAX], end[VMIME_AGREE_MAX];
	int k;

	if (idx < 0 || idx >= VMIME_AGREE_MAX ||
	    (k = scan(p, n, b, start, end, idx + 1, mapped)) <= idx)
		return -1;
	/* the last child must be ended by a delimiter, not by the data */
	if (idx == k - 1 && end[idx] == n)
		return -1;
	*off = start[idx];
	*len = end[idx] - start[idx];
	return 0;
}

int
vmime_count(const char *p, size_t n, const char *b, bool mapped)
{
	size_t s, e;
	int k = scan(p, n, b, &s, &e, 1, mapped);

	return k < 0 ? 0 : k;
}

int
vmime_body(const char *p, size_t n, size_t *off)
{
	size_t i = 0, le;
	const char *eol;

	while (i < n) {
		eol = memchr(p + i, '\n', n - i);
		if (eol == NULL)
			return -1;
		le = (size_t)(eol - (p + i)) + 1;
		if (le == 1 || (le == 2 && p[i] == '\r')) {
			*off = i + le;
			return 0;
		}
		i += le;
	}
	return -1;
}

bool
vmime_bare_cr(const char *p, size_t n, bool mapped)
{
	const char *cr, *end = p + n, *dropped = p;

	while ((cr = memchr(p, '\r', (size_t)(end - p))) != NULL) {
		if (cr + 1 == end || cr[1] != '\n')
			return true;
		p = cr + 2;
		if (mapped && (size_t)(p - dropped) >= VMIME_DROP_STEP) {
			vmime_drop(dropped, p);
			dropped = p;
		}
	}
	return false;
}

bool
vmime_boundary_ok(const char *b)
{
	static const char bchars[] = "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
	size_t n = b != NULL ? strlen(b) : 0;

	return n > 0 && n <= 70 && strspn(b, bchars) == n && b[n - 1] != ' ';
}

/* The length of a field name without white space before the colon. */
static size_t
name_len(const char *nm)
{
	size_t n = strlen(nm);

	while (n > 0 && (nm[n - 1] == ' ' || nm[n - 1] == '\t'))
		n--;
	return n;
}

int
vmime_hdr_count(GMimeObject *o, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	size_t nl = strlen(name);
	const char *nm;
	int i, k = 0, n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;

	for (i = 0; i < n; i++) {
		nm = g_mime_header_get_name(g_mime_header_list_get_header_at(hl, i));
		if (nm != NULL && name_len(nm) == nl && strncasecmp(nm, name, nl) == 0)
			k++;
	}
	return k;
}

/* A Content-* name with white space before the colon: some parsers end
 * the header block there, others read the field. */
static bool
spaced_content_name(GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	const char *nm;
	int i, n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;

	for (i = 0; i < n; i++) {
		/* GMime's name has the white space removed, the raw one not */
		nm = g_mime_header_get_raw_name(g_mime_header_list_get_header_at(hl, i));
		if (nm != NULL && strncasecmp(nm, "Content-", 8) == 0 &&
		    name_len(nm) != strlen(nm))
			return true;
	}
	return false;
}

/* Parameter names compared without an RFC 2231 "*" section. */
static bool
same_param(const char *a, const char *b)
{
	size_t la = strcspn(a, "*"), lb = strcspn(b, "*");

	return la == lb && strncasecmp(a, b, la) == 0;
}

static bool
param_twice(GMimeParamList *pl)
{
	int i, j, n = pl != NULL ? g_mime_param_list_length(pl) : 0;
	const char *a, *b;

	if (n > VMIME_MAX_PARAMS)
		return true;
	for (i = 0; i < n; i++) {
		a = g_mime_param_get_name(g_mime_param_list_get_parameter_at(pl, i));
		for (j = i + 1; j < n && a != NULL; j++) {
			b = g_mime_param_get_name(g_mime_param_list_get_parameter_at(pl, j));
			if (b != NULL && same_param(a, b))
				return true;
		}
	}
	return false;
}

/* An RFC 2047 encoded-word ("=?cs?B?...?=") anywhere in s. */
static bool
has_encoded_word(const char *s)
{
	const char *p, *q;

	for (p = strstr(s, "=?"); p != NULL; p = strstr(p + 2, "=?")) {
		q = p + 2 + strcspn(p + 2, "? \t\r\n\"");
		if (q[0] == '?' && strchr("bBqQ", q[1]) != NULL && q[1] != '\0' &&
		    q[2] == '?' && strstr(q + 3, "?=") != NULL)
			return true;
	}
	return false;
}

/*
 * A multipart's Content-Type with an encoded-word: RFC 2047 §5 allows none
 * in parameters, yet GMime and Python decode one in the boundary and other
 * readers do not, and so cut the body at other lines.
 */
static bool
encoded_boundary(GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	GMimeHeader *h;
	const char *v;
	int i, n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;

	for (i = 0; i < n; i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Content-Type") == 0 &&
		    (v = g_mime_header_get_raw_value(h)) != NULL &&
		    has_encoded_word(v))
			return true;
	}
	return false;
}

/* The fields of one entity, without its children. */
static const char *
fields_ambiguous(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(o);

	if (vmime_hdr_count(o, "Content-Type") > 1 ||
	    vmime_hdr_count(o, "Content-Transfer-Encoding") > 1 ||
	    vmime_hdr_count(o, "Content-Disposition") > 1)
		return "ambiguous MIME: a part has several Content-Type, "
		    "Content-Transfer-Encoding or Content-Disposition fields";
	if (spaced_content_name(o))
		return "ambiguous MIME: a Content-* field with white space "
		    "before the colon";
	if ((ct != NULL && param_twice(g_mime_content_type_get_parameters(ct))) ||
	    (cd != NULL && param_twice(g_mime_content_disposition_get_parameters(cd))))
		return "ambiguous MIME: a parameter given twice (boundary, "
		    "charset, name...)";
	if (GMIME_IS_MULTIPART(o) &&
	    (!vmime_boundary_ok(g_mime_multipart_get_boundary(GMIME_MULTIPART(o))) ||
	    encoded_boundary(o)))
		return "ambiguous MIME: a boundary RFC 2046 does not allow";
	return NULL;
}

static const char *
walk(GMimeObject *o, int depth)
{
	GMimeMessage *msg;
	const char *why;
	int i, n;

	if (depth > VMIME_MAX_DEPTH)
		return "ambiguous MIME: nested too deeply";
	if ((why = fields_ambiguous(o)) != NULL)
		return why;
	if (GMIME_IS_MESSAGE_PART(o)) {
		msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (msg == NULL || g_mime_message_get_mime_part(msg) == NULL)
			return NULL;
		return walk(g_mime_message_get_mime_part(msg), depth + 1);
	}
	if (!GMIME_IS_MULTIPART(o))
		return NULL;
	if ((n = g_mime_multipart_get_count(GMIME_MULTIPART(o))) > VMIME_MAX_PARTS)
		return "ambiguous MIME: too many parts";
	for (i = 0; i < n; i++)
		if ((why = walk(g_mime_multipart_get_part(GMIME_MULTIPART(o), i),
		    depth + 1)) != NULL)
			return why;
	return NULL;
}

const char *
vmime_ambiguous(GMimeObject *o)
{
	return walk(o, 0);
}

/* The offset GMime read the first header field of o at, or -1. */
static int64_t
first_field(GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);

	if (hl == NULL || g_mime_header_list_get_count(hl) == 0)
		return -1;
	return g_mime_header_get_offset(g_mime_header_list_get_header_at(hl, 0));
}

bool
vmime_agrees(const struct raw *raw, size_t off, size_t len,
    GMimeMultipart *mp)
{
	size_t start[VMIME_AGREE_MAX], end[VMIME_AGREE_MAX];
	const char *b = g_mime_multipart_get_boundary(mp);
	int i, k, n = g_mime_multipart_get_count(mp);
	int64_t h;

	if (b == NULL || n > VMIME_AGREE_MAX ||
	    (k = scan(raw->p + off, len, b, start, end, VMIME_AGREE_MAX,
	    raw->map != NULL)) != n)
		return false;
	for (i = 0; i < n; i++) {
		h = first_field(g_mime_multipart_get_part(mp, i));
		if (h != -1 && h != raw->base + (int64_t)(off + start[i]))
			return false;
	}
	return true;
}
