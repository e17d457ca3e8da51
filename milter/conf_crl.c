/*
 * conf_crl.c - the revocation keys of the pki group: pki.crl_urls (more
 * CRL distribution points for segelctl crl update) and pki.crl_grace (how
 * long a CRL past its nextUpdate still counts as current, pki.h).
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include "conf.h"
#include "util.h"
#include "conf_impl.h"

#define CRL_URLS_MAX	64
#define CRL_URL_MAX	2048
#define CRL_GRACE_MAX	(90L * 86400)	/* beyond this a CRL is no check */

/*
 * Parses a duration: a whole number with an optional unit s, m, h or d
 * ("0", "3600", "90m", "24h", "2d"). -1 when it is not one.
 */
long
conf_parse_duration(const char *v)
{
	char *end;
	long n, mul = 1;

	if (v == NULL || !isdigit((unsigned char)v[0]))
		return -1;
	n = strtol(v, &end, 10);
	if (n < 0 || n > INT_MAX)
		return -1;
	switch (*end) {
	case '\0':
	case 's':	mul = 1; break;
	case 'm':	mul = 60; break;
	case 'h':	mul = 3600; break;
	case 'd':	mul = 86400; break;
	default:	return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	return n * mul;
}

/* pki.crl_grace: a duration of at most 90 days, kept in seconds. */
void
check_crl_grace(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	long v = conf_parse_duration(c->crl_grace_text);

	if (v < 0) {
		conf_err(lc, s, key, "\"%s\" is not a duration such as \"24h\", "
		    "\"2d\", \"90m\" or \"0\"", c->crl_grace_text);
		v = 86400;
	} else if (v > CRL_GRACE_MAX) {
		conf_err(lc, s, key, "%s is longer than 90 days: a CRL that "
		    "old no longer tells what is revoked", c->crl_grace_text);
		v = CRL_GRACE_MAX;
	}
	c->crl_grace = v;
}

/* True when v is an http or https URL without spaces or control bytes. */
static bool
crl_url_ok(const char *v)
{
	size_t i;

	if (strncasecmp(v, "http://", 7) != 0 &&
	    strncasecmp(v, "https://", 8) != 0)
		return false;
	if (strlen(v) > CRL_URL_MAX || v[strcspn(v, ":") + 3] == '\0')
		return false;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
			return false;
	return true;
}

/* pki.crl_urls: up to 64 http(s) URLs, each reported where it is wrong. */
void
load_crl_urls(struct loadctx *lc, struct conf *c, const config_t *cfg)
{
	const config_setting_t *arr = config_lookup(cfg, "pki.crl_urls"), *e;
	const char *v;
	unsigned i, n;

	if (arr == NULL || !conf_type_ok(C_STRLIST, arr) ||
	    (n = (unsigned)config_setting_length(arr)) == 0)
		return;
	if (n > CRL_URLS_MAX) {
		conf_err(lc, arr, "pki.crl_urls", "%u URLs; at most %d", n,
		    CRL_URLS_MAX);
		return;
	}
	c->crl_urls = xcalloc(n, sizeof(char *));
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(arr, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			conf_err(lc, e, "pki.crl_urls", "element %u must be a "
			    "string such as \"http://crl.example/ca.crl\"", i + 1);
			continue;
		}
		v = config_setting_get_string(e);
		if (!crl_url_ok(v))
			conf_err(lc, e, "pki.crl_urls", "\"%.80s\" is not an "
			    "http:// or https:// URL", v);
		else
			c->crl_urls[c->n_crl_urls++] = xstrdup(v);
	}
}

/* Frees what this file stored in c. */
void
conf_crl_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->n_crl_urls; i++)
		free(c->crl_urls[i]);
	free(c->crl_urls);
	free(c->crl_grace_text);
}
