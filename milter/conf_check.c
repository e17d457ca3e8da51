/*
 * conf_check.c - the value checks of the configuration schema (conf.c):
 * each validates one key's value and stores it, reporting every problem as
 * FILE:LINE: key: problem; and the checks that need more than one key
 * (trusted hosts, the login map, the pkcs11 group, limits).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf_impl.h"
#include "util.h"
#include "verify.h"
#include "ocsp.h"

struct enum_map {
	const char *key;
	const char *names[6];
	int values[6];
};

static const struct enum_map conf_enums[] = {
	{ "on_error", { "tempfail", "accept", "reject" },
	    { ON_ERROR_TEMPFAIL, ON_ERROR_ACCEPT, ON_ERROR_REJECT } },
	{ "log_level", { "error", "warning", "info", "debug" },
	    { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG } },
	{ "sign.on_no_cert", { "reject", "tempfail", "accept" },
	    { NOCERT_REJECT, NOCERT_TEMPFAIL, NOCERT_ACCEPT } },
	{ "verify.unsigned_own_domain", { "tag", "reject", "none" },
	    { UNSIGNED_OWN_TAG, UNSIGNED_OWN_REJECT, UNSIGNED_OWN_NONE } },
	{ "pki.ocsp", { "off", "on", "required" },
	    { OCSP_OFF, OCSP_ON, OCSP_REQUIRED } },
};

void
check_domain(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	const char *v = *conf_str_field(c, conf_schema_find(key)), *p;

	if (v[0] == '\0' || v[0] == '.' || strchr(v, '.') == NULL)
		goto bad;
	for (p = v; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			goto bad;
	for (char *q = *conf_str_field(c, conf_schema_find(key)); *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return;
bad:
	conf_err(lc, s, key, "\"%s\" is not a domain name", v);
}

void
check_servid(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	const char *v = c->authserv_id, *p;

	if (v[0] == '\0') {
		conf_err(lc, s, key, "must not be empty");
		return;
	}
	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || strchr("()<>@,;:\\\"/[]?=", *p)) {
			conf_err(lc, s, key, "\"%s\" must be a token "
			    "(letters, digits, '.', '-'), e.g. the host name", v);
			return;
		}
}

void
check_socket(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	const char *v = c->socket, *at;
	char *end;
	long port;

	if (strncmp(v, "unix:/", 6) == 0 || strncmp(v, "local:/", 7) == 0)
		return;
	if (strncmp(v, "inet:", 5) == 0 || strncmp(v, "inet6:", 6) == 0) {
		at = strchr(v, ':') + 1;
		port = strtol(at, &end, 10);
		if (end != at && port > 0 && port < 65536 &&
		    (*end == '\0' || (*end == '@' && end[1] != '\0')))
			return;
		conf_err(lc, s, key, "\"%s\": write inet:PORT@HOST "
		    "(libmilter's form, not Postfix's inet:HOST:PORT)", v);
		return;
	}
	conf_err(lc, s, key, "\"%s\": must be unix:/PATH, inet:PORT@HOST "
	    "or inet6:PORT@HOST", v);
}

void
check_user(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	if (c->user[0] != '\0' && getpwnam(c->user) == NULL)
		conf_err(lc, s, key, "no such user \"%s\"", c->user);
}

void
check_group(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	if (c->socket_group[0] != '\0' && getgrnam(c->socket_group) == NULL)
		conf_err(lc, s, key, "no such group \"%s\"", c->socket_group);
}

void
check_enum(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	const struct enum_map *m = NULL;
	int *f = (int *)(void *)((char *)c + conf_schema_find(key)->off);
	struct sbuf allowed;
	size_t i;
	int j;

	for (i = 0; i < sizeof(conf_enums) / sizeof(conf_enums[0]); i++)
		if (strcmp(conf_enums[i].key, key) == 0)
			m = &conf_enums[i];
	for (j = 0; m->names[j] != NULL; j++)
		if (strcasecmp(m->names[j], lc->enumval) == 0)
			break;
	if (m->names[j] == NULL) {
		sbuf_init(&allowed);
		for (j = 0; m->names[j] != NULL; j++)
			sbuf_printf(&allowed, "%s%s", j ? ", " : "", m->names[j]);
		conf_err(lc, s, key, "\"%s\": must be one of %s", lc->enumval,
		    allowed.s);
		sbuf_free(&allowed);
		j = 0;
	}
	*f = m->values[j];
}

int
conf_parse_tls_version(const char *v)
{
	static const struct { const char *n; int v; } t[] = {
		{ "SSLv3", 0x0300 }, { "TLSv1", 0x0301 }, { "TLSv1.0", 0x0301 },
		{ "TLSv1.1", 0x0302 }, { "TLSv1.2", 0x0303 },
		{ "TLSv1.3", 0x0304 },
	};
	size_t i;

	if (v == NULL)
		return -1;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(t[i].n, v) == 0)
			return t[i].v;
	return -1;
}

void
check_tlsver(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	int ver = conf_parse_tls_version(lc->enumval);

	if (ver < 0x0301) {
		conf_err(lc, s, key, "\"%s\": must be TLSv1, TLSv1.1, TLSv1.2 "
		    "or TLSv1.3", lc->enumval);
		ver = 0x0303;
	}
	c->tls_min_version = ver;
}

/* Which keys name folders (must be directories) and which must exist. */
void
check_path(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	char **f = conf_str_field(c, conf_schema_find(key)), *abs;
	struct stat st;
	bool isdir = strstr(key, "_dir") != NULL || strcmp(key, "archive.dir") == 0;
	bool optional = strcmp(key, "pki.trust_file") != 0 &&
	    strcmp(key, "sign.cert_dir") != 0 && strcmp(key, "limits.tmp_dir") != 0;

	abs = conf_resolve_path(c, *f);
	free(*f);
	*f = abs;
	if (abs[0] == '\0') {
		if (!optional)
			conf_err(lc, s, key, "must not be empty");
		free(abs);
		*f = NULL;
		return;
	}
	if (strcmp(key, "sign.cert_dir") == 0 && !c->sign_enabled)
		return;
	if (strcmp(key, "audit.file") == 0 || strcmp(key, "metrics.file") == 0) {
		char *dir = xstrdup(abs);

		if (stat(dirname(dir), &st) != 0 || !S_ISDIR(st.st_mode))
			conf_err(lc, s, key, "%s: folder does not exist", abs);
		free(dir);
		return;
	}
	if (stat(abs, &st) != 0)
		conf_err(lc, s, key, "%s: %s", abs, strerror(errno));
	else if (isdir && !S_ISDIR(st.st_mode))
		conf_err(lc, s, key, "%s: not a folder", abs);
	else if (!isdir && !S_ISREG(st.st_mode))
		conf_err(lc, s, key, "%s: not a regular file", abs);
}

static bool
utf8_valid(const unsigned char *p)
{
	int n;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			n = 1;
		else if ((*p & 0xf0) == 0xe0)
			n = 2;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			n = 3;
		else
			return false;
		for (p++; n > 0; n--, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

void
check_footer(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	if (!utf8_valid((const unsigned char *)c->footer))
		conf_err(lc, s, key, "must be valid UTF-8");
	else if (strlen(c->footer) > 2000)
		conf_err(lc, s, key, "longer than 2000 bytes");
}

void
check_tag(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	char **f = conf_str_field(c, conf_schema_find(key));

	if (strpbrk(*f, "\r\n") != NULL || strlen(*f) > 200)
		conf_err(lc, s, key, "must be one line of at most 200 bytes");
	if ((*f)[0] == '\0') {
		free(*f);
		*f = NULL;
	}
}

void
check_size(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	size_t *f = (size_t *)(void *)((char *)c + conf_schema_find(key)->off);

	if (*f == 0)
		conf_err(lc, s, key, "must be greater than 0");
}

/* A wait in seconds for something on the mail path: 1 .. 60. */
void
check_seconds(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	size_t *f = (size_t *)(void *)((char *)c + conf_schema_find(key)->off);

	if (*f < 1 || *f > 60)
		conf_err(lc, s, key, "%zu: must be 1 to 60 seconds", *f);
}

bool
conf_parse_cidr(const char *v, struct cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long bits;
	int max;

	if (strlen(v) >= sizeof(buf))
		return false;
	strcpy(buf, v);
	memset(out, 0, sizeof(*out));
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		return false;
	bits = max;
	if (slash != NULL) {
		errno = 0;
		bits = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || bits < 0 || bits > max)
			return false;
	}
	out->bits = (int)bits;
	return true;
}

bool
cidr_match(const struct cidr *c, int family, const void *addr)
{
	const unsigned char *a = addr;
	int full = c->bits / 8, rest = c->bits % 8;

	if (c->family != family)
		return false;
	if (memcmp(c->addr, a, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

/*
 * No trusted host unless configured: a trusted host has mail signed
 * without a login, and loopback would include every local user of the
 * gateway (the sendmail command arrives as 127.0.0.1).
 */
void
load_cidrs(struct loadctx *lc, struct conf *c, const config_t *cfg)
{
	const config_setting_t *arr = config_lookup(cfg, "sign.trusted_hosts"),
	    *e;
	unsigned i, n;

	if (arr == NULL || !conf_type_ok(C_CIDRS, arr) ||
	    config_setting_length(arr) == 0)
		return;
	n = (unsigned)config_setting_length(arr);
	c->trusted_hosts = xcalloc(n, sizeof(struct cidr));
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(arr, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			conf_err(lc, e, "sign.trusted_hosts", "element %u must "
			    "be a string such as \"192.0.2.0/24\"", i + 1);
			continue;
		}
		if (!conf_parse_cidr(config_setting_get_string(e),
		    &c->trusted_hosts[c->n_trusted_hosts]))
			conf_err(lc, e, "sign.trusted_hosts", "\"%s\" is not an "
			    "address or CIDR block", config_setting_get_string(e));
		else
			c->n_trusted_hosts++;
	}
}


void
load_login_map(struct loadctx *lc, struct conf *c)
{
	FILE *fp;
	char line[1024], login[512], addr[512];
	int lineno = 0;

	if (c->login_map == NULL || (fp = fopen(c->login_map, "r")) == NULL)
		return;		/* existence was checked by check_path */
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line, *a;

		lineno++;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || *p == '\0')
			continue;
		if (sscanf(p, "%511s %511s", login, addr) != 2 ||
		    (a = addr_normalize(addr)) == NULL) {
			diag_add(lc->d, DIAG_ERROR, c->login_map, lineno,
			    "sign.login_map", "expected \"login address\"");
			lc->nerr++;
			continue;
		}
		c->logins = xreallocarray(c->logins, c->n_logins + 1,
		    sizeof(*c->logins));
		for (p = login; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		c->logins[c->n_logins].login = xstrdup(login);
		c->logins[c->n_logins].address = a;
		c->n_logins++;
	}
	fclose(fp);
}

/*
 * The PIN opens every key in the token: the same rule as a .pass file
 * (owner root or the daemon's user, nobody else may read it).
 */
void
check_pin_file(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	struct passwd *pw;
	struct stat st;

	check_path(lc, c, s, key);
	if (c->p11_pin_file == NULL || stat(c->p11_pin_file, &st) != 0)
		return;
	pw = c->user != NULL && c->user[0] != '\0' ? getpwnam(c->user) : NULL;
	if ((st.st_mode & 077) != 0)
		conf_err(lc, s, key, "%s: unsafe permissions %04o: must not be "
		    "readable by group or others (chmod 600)", c->p11_pin_file,
		    (unsigned)(st.st_mode & 07777));
	else if (st.st_uid != 0 && st.st_uid != geteuid() &&
	    (pw == NULL || st.st_uid != pw->pw_uid))
		conf_err(lc, s, key, "%s: owned by uid %u, neither root nor "
		    "the daemon's user (chown it)", c->p11_pin_file,
		    (unsigned)st.st_uid);
}

/* pkcs11: all three keys or none. */
static void
conf_p11_checks(struct loadctx *lc, struct conf *c, const config_t *cfg)
{
	const config_setting_t *g = config_lookup(cfg, "pkcs11");
	const char *miss = NULL;

	if (c->p11_token != NULL && c->p11_token[0] == '\0') {
		free(c->p11_token);
		c->p11_token = NULL;
	}
	if (g == NULL)
		return;
	if (c->p11_module == NULL)
		miss = "pkcs11.module";
	else if (c->p11_token == NULL)
		miss = "pkcs11.token";
	else if (c->p11_pin_file == NULL)
		miss = "pkcs11.pin_file";
	if (miss != NULL)
		conf_err(lc, g, miss, "required in the pkcs11 group (module, "
		    "token and pin_file together)");
}

void
conf_cross_checks(struct loadctx *lc, struct conf *c, const config_t *cfg)
{
	if (c->memory_threshold > c->max_message_size)
		conf_err(lc, config_lookup(cfg, "limits.memory_body"),
		    "limits.memory_body", "larger than limits.message_size");
	conf_p11_checks(lc, c, cfg);
}


/* audit.tsa_url: empty (no stamps), or an http or https URL (what
 * http_fetch() speaks). */
void
check_tsa_url(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	const char *v = c->tsa_url, *p;

	if (v[0] == '\0') {
		free(c->tsa_url);
		c->tsa_url = NULL;
		return;
	}
	if (strncasecmp(v, "http://", 7) != 0 &&
	    strncasecmp(v, "https://", 8) != 0) {
		conf_err(lc, s, key, "\"%s\": must be an http:// or https:// "
		    "URL", v);
		return;
	}
	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			conf_err(lc, s, key, "\"%s\": no spaces or control "
			    "characters in a URL", v);
			return;
		}
}
