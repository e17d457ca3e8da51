/*
 * p11_uri.c - the RFC 7512 pkcs11: URIs of store entries (see p11.h).
 *
 * Only the path attributes a store entry needs are read: token, object,
 * id and type (which must be "private" when given). Query attributes
 * (pin-value, module-path) are refused: the PIN lives in pkcs11.pin_file
 * and the module in pkcs11.module, never in a store file. Unknown path
 * attributes are refused too, so that a URI never selects less than it
 * seems to.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "p11.h"
#include "util.h"

static int
p11_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes [s, s+n) into a new buffer (NUL-terminated for
 * convenience, *outlen without it). -1 on a bad escape. */
static int
p11_pct_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	unsigned char *b = xmalloc(n + 1);
	size_t i, k = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			b[k++] = (unsigned char)s[i];
			continue;
		}
		if (i + 2 >= n)
			goto bad;
		if ((hi = p11_hexval((unsigned char)s[i + 1])) < 0 ||
		    (lo = p11_hexval((unsigned char)s[i + 2])) < 0)
			goto bad;
		b[k++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	b[k] = '\0';
	*out = b;
	*outlen = k;
	return 0;
bad:
	free(b);
	return -1;
}

/* One "name=value" path attribute into u; -1 when unknown or bad. */
static int
p11_uri_attr(const char *a, size_t n, struct p11_uri *u)
{
	const char *eq = memchr(a, '=', n);
	unsigned char *v;
	size_t nl, vl;

	if (eq == NULL)
		return -1;
	nl = (size_t)(eq - a);
	if (p11_pct_decode(eq + 1, n - nl - 1, &v, &vl) != 0)
		return -1;
	if (nl == 5 && strncmp(a, "token", 5) == 0 && u->token == NULL &&
	    strlen((char *)v) == vl) {
		u->token = (char *)v;
	} else if (nl == 6 && strncmp(a, "object", 6) == 0 &&
	    u->object == NULL && strlen((char *)v) == vl) {
		u->object = (char *)v;
	} else if (nl == 2 && strncmp(a, "id", 2) == 0 && u->id == NULL &&
	    vl > 0) {
		u->id = v;
		u->idlen = vl;
	} else if (nl == 4 && strncmp(a, "type", 4) == 0 &&
	    strcmp((char *)v, "private") == 0) {
		free(v);
	} else {
		free(v);
		return -1;
	}
	return 0;
}

int
p11_uri_parse(const char *uri, struct p11_uri *u)
{
	const char *p, *semi;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (uri == NULL || strncmp(uri, "pkcs11:", 7) != 0 ||
	    strchr(uri, '?') != NULL)
		return -1;
	for (p = uri + 7; *p != '\0'; p = *semi ? semi + 1 : semi) {
		if ((semi = strchr(p, ';')) == NULL)
			semi = p + strlen(p);
		n = (size_t)(semi - p);
		if (n > 0 && p11_uri_attr(p, n, u) != 0)
			goto bad;
	}
	if (u->object == NULL && u->id == NULL)
		goto bad;
	return 0;
bad:
	p11_uri_clear(u);
	return -1;
}

void
p11_uri_clear(struct p11_uri *u)
{
	if (u == NULL)
		return;
	free(u->token);
	free(u->object);
	free(u->id);
	memset(u, 0, sizeof(*u));
}

/* RFC 7512 pchar minus the separators: everything else %-escaped. */
static void
p11_pct_encode(struct sbuf *b, const unsigned char *s, size_t n, bool all)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		if (!all && (isalnum(s[i]) || strchr("-._~:[]@!$'()*+,=&",
		    s[i]) != NULL) && s[i] != '\0')
			sbuf_add(b, &s[i], 1);
		else {
			char e[3] = { '%', hex[s[i] >> 4], hex[s[i] & 15] };

			sbuf_add(b, e, sizeof(e));
		}
	}
}

char *
p11_uri_format(const char *token, const char *object,
    const unsigned char *id, size_t idlen)
{
	struct sbuf b;

	sbuf_init(&b);
	sbuf_adds(&b, "pkcs11:token=");
	p11_pct_encode(&b, (const unsigned char *)token, strlen(token), false);
	if (object != NULL) {
		sbuf_adds(&b, ";object=");
		p11_pct_encode(&b, (const unsigned char *)object,
		    strlen(object), false);
	}
	if (id != NULL && idlen > 0) {
		sbuf_adds(&b, ";id=");
		p11_pct_encode(&b, id, idlen, true);
	}
	sbuf_adds(&b, ";type=private");
	return sbuf_steal(&b);
}
