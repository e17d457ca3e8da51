/*
 * conf.c - the configuration loader: one schema table, libconfig underneath.
 *
 * Every key of the file is checked against conf_schema[]: unknown keys,
 * wrong types, bad values and missing files are all reported into the diag
 * (never only the first), each as FILE:LINE: key: problem. conf_load()
 * returns NULL when any error was found. Strings are copied out of libconfig
 * before config_destroy(), so a struct conf lives on its own.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf.h"
#include "util.h"
#include "verify.h"

enum ctype { C_GROUP, C_STRING, C_ENUM, C_BOOL, C_INT, C_CIDRS };

struct loadctx;
typedef void (*conf_check_fn)(struct loadctx *, struct conf *,
    const config_setting_t *, const char *key);

struct conf_key {
	const char *name;	/* dotted path */
	enum ctype type;
	const char *defval;	/* C_STRING/C_BOOL/C_INT default, as text */
	size_t off;		/* offset in struct conf, (size_t)-1 none */
	conf_check_fn check;	/* validates and stores; NULL: plain store */
};

struct loadctx {
	const char *enumval;	/* the text of the C_ENUM key being checked */
	const char *path;
	struct diag *d;
	int nerr;
};

#define OFF(f)	offsetof(struct conf, f)
#define NOOFF	((size_t)-1)

static void check_domain(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_servid(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_socket(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_user(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_group(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_enum(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_tlsver(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_path(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_tag(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_footer(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_size(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);
static void check_pin_file(struct loadctx *, struct conf *,
    const config_setting_t *, const char *);

static const struct conf_key conf_schema[] = {
	{ "domain", C_STRING, "tanjungpinangkota.go.id", OFF(domain), check_domain },
	{ "authserv_id", C_STRING, "mail.tanjungpinangkota.go.id", OFF(authserv_id), check_servid },
	{ "socket", C_STRING, "unix:/run/segel/segel.sock", OFF(socket), check_socket },
	{ "user", C_STRING, "segel", OFF(user), check_user },
	{ "socket_group", C_STRING, "", OFF(socket_group), check_group },
	{ "on_error", C_ENUM, "tempfail", OFF(on_error), check_enum },
	{ "log_level", C_ENUM, "info", OFF(log_level), check_enum },
	{ "pki", C_GROUP, NULL, NOOFF, NULL },
	{ "pki.trust_file", C_STRING, "/etc/segel/trust.pem", OFF(trust_file), check_path },
	{ "pki.crl_dir", C_STRING, "", OFF(crl_dir), check_path },
	{ "tls", C_GROUP, NULL, NOOFF, NULL },
	{ "tls.enforce", C_BOOL, "true", OFF(tls_enforce), NULL },
	{ "tls.min_version", C_ENUM, "TLSv1.2", OFF(tls_min_version), check_tlsver },
	{ "sign", C_GROUP, NULL, NOOFF, NULL },
	{ "sign.enabled", C_BOOL, "true", OFF(sign_enabled), NULL },
	{ "sign.cert_dir", C_STRING, "/etc/segel/certs", OFF(cert_dir), check_path },
	{ "sign.trusted_hosts", C_CIDRS, NULL, NOOFF, NULL },
	{ "sign.login_map", C_STRING, "", OFF(login_map), check_path },
	{ "sign.footer", C_STRING, "Dokumen ini telah ditandatangani secara elektronik menggunakan sertifikat elektronik yang diterbitkan oleh BSrE.", OFF(footer), check_footer },
	{ "sign.on_no_cert", C_ENUM, "reject", OFF(on_no_cert), check_enum },
	{ "verify", C_GROUP, NULL, NOOFF, NULL },
	{ "verify.enabled", C_BOOL, "true", OFF(verify_enabled), NULL },
	{ "verify.unsigned_own_domain", C_ENUM, "tag", OFF(unsigned_own_domain), check_enum },
	{ "verify.subject_tags", C_GROUP, NULL, NOOFF, NULL },
	/* On by default for the two results a reader must not miss (README,
	 * "What recipients see"); "" turns a tag off. */
	{ "verify.subject_tags.none", C_STRING, "[TIDAK BERTANDA TANGAN]", OFF(subject_tag[AR_NONE]), check_tag },
	{ "verify.subject_tags.pass", C_STRING, "", OFF(subject_tag[AR_PASS]), check_tag },
	{ "verify.subject_tags.fail", C_STRING, "[TANDA TANGAN TIDAK SAH]", OFF(subject_tag[AR_FAIL]), check_tag },
	{ "verify.subject_tags.policy", C_STRING, "", OFF(subject_tag[AR_POLICY]), check_tag },
	{ "verify.subject_tags.neutral", C_STRING, "", OFF(subject_tag[AR_NEUTRAL]), check_tag },
	{ "verify.subject_tags.temperror", C_STRING, "", OFF(subject_tag[AR_TEMPERROR]), check_tag },
	{ "verify.subject_tags.permerror", C_STRING, "", OFF(subject_tag[AR_PERMERROR]), check_tag },
	{ "audit", C_GROUP, NULL, NOOFF, NULL },
	{ "audit.file", C_STRING, "", OFF(audit_file), check_path },
	{ "archive", C_GROUP, NULL, NOOFF, NULL },
	{ "archive.dir", C_STRING, "", OFF(archive_dir), check_path },
	{ "limits", C_GROUP, NULL, NOOFF, NULL },
	{ "limits.message_size", C_INT, "104857600", OFF(max_message_size), check_size },
	{ "limits.memory_body", C_INT, "1048576", OFF(memory_threshold), check_size },
	{ "limits.header_bytes", C_INT, "1048576", OFF(max_header_bytes), check_size },
	{ "limits.header_count", C_INT, "10000", OFF(max_headers), check_size },
	{ "limits.tmp_dir", C_STRING, "/var/tmp", OFF(tmp_dir), check_path },
	{ "pkcs11", C_GROUP, NULL, NOOFF, NULL },
	{ "pkcs11.module", C_STRING, "", OFF(p11_module), check_path },
	{ "pkcs11.token", C_STRING, "", OFF(p11_token), NULL },
	{ "pkcs11.pin_file", C_STRING, "", OFF(p11_pin_file), check_pin_file },
};

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
};

static void
conf_err(struct loadctx *lc, const config_setting_t *s, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
conf_err(struct loadctx *lc, const config_setting_t *s, const char *key,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;
	const char *file = lc->path;
	int line = 0;

	if (s != NULL) {
		line = (int)config_setting_source_line(s);
		if (config_setting_source_file(s) != NULL)
			file = config_setting_source_file(s);
	}
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(lc->d, DIAG_ERROR, file, line, key, "%s", msg);
	free(msg);
	lc->nerr++;
}

static const struct conf_key *
schema_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(conf_schema) / sizeof(conf_schema[0]); i++)
		if (strcmp(conf_schema[i].name, name) == 0)
			return &conf_schema[i];
	return NULL;
}

static const char *
type_name(enum ctype t)
{
	switch (t) {
	case C_GROUP:	return "a group { ... }";
	case C_STRING:
	case C_ENUM:	return "a string in double quotes";
	case C_BOOL:	return "true or false";
	case C_INT:	return "a whole number";
	case C_CIDRS:	return "a list of addresses [ \"a/n\", ... ]";
	}
	return "?";
}

static bool
type_ok(enum ctype t, const config_setting_t *s)
{
	int st = config_setting_type(s);

	switch (t) {
	case C_GROUP:	return st == CONFIG_TYPE_GROUP;
	case C_STRING:
	case C_ENUM:	return st == CONFIG_TYPE_STRING;
	case C_BOOL:	return st == CONFIG_TYPE_BOOL;
	case C_INT:	return st == CONFIG_TYPE_INT || st == CONFIG_TYPE_INT64;
	case C_CIDRS:	return st == CONFIG_TYPE_ARRAY || st == CONFIG_TYPE_LIST;
	}
	return false;
}

/* Reports unknown keys and wrong types anywhere below group. */
static void
walk_unknown(struct loadctx *lc, const config_setting_t *group,
    const char *prefix)
{
	const config_setting_t *s;
	const struct conf_key *k;
	char name[256];
	int i;

	for (i = 0; (s = config_setting_get_elem(group, (unsigned)i)) != NULL;
	    i++) {
		snprintf(name, sizeof(name), "%s%s%s", prefix,
		    *prefix ? "." : "", config_setting_name(s));
		k = schema_find(name);
		if (k == NULL) {
			conf_err(lc, s, name, "unknown key");
			continue;
		}
		if (!type_ok(k->type, s)) {
			conf_err(lc, s, name, "must be %s", type_name(k->type));
			continue;
		}
		if (k->type == C_GROUP)
			walk_unknown(lc, s, name);
	}
}

static char *
resolve_path(const struct conf *c, const char *v)
{
	if (v[0] == '\0' || v[0] == '/')
		return xstrdup(v);
	return xasprintf("%s/%s", c->dir, v);
}

static char **
str_field(struct conf *c, const struct conf_key *k)
{
	return (char **)(void *)((char *)c + k->off);
}

static void
store_string(struct conf *c, const struct conf_key *k, const char *v)
{
	char **f = str_field(c, k);

	free(*f);
	*f = xstrdup(v);
}

static void
check_domain(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	const char *v = *str_field(c, schema_find(key)), *p;

	if (v[0] == '\0' || v[0] == '.' || strchr(v, '.') == NULL)
		goto bad;
	for (p = v; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			goto bad;
	for (char *q = *str_field(c, schema_find(key)); *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return;
bad:
	conf_err(lc, s, key, "\"%s\" is not a domain name", v);
}

static void
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

static void
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

static void
check_user(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	if (c->user[0] != '\0' && getpwnam(c->user) == NULL)
		conf_err(lc, s, key, "no such user \"%s\"", c->user);
}

static void
check_group(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	if (c->socket_group[0] != '\0' && getgrnam(c->socket_group) == NULL)
		conf_err(lc, s, key, "no such group \"%s\"", c->socket_group);
}

static void
check_enum(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	const struct enum_map *m = NULL;
	int *f = (int *)(void *)((char *)c + schema_find(key)->off);
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

static void
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
static void
check_path(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	char **f = str_field(c, schema_find(key)), *abs;
	struct stat st;
	bool isdir = strstr(key, "_dir") != NULL || strcmp(key, "archive.dir") == 0;
	bool optional = strcmp(key, "pki.trust_file") != 0 &&
	    strcmp(key, "sign.cert_dir") != 0 && strcmp(key, "limits.tmp_dir") != 0;

	abs = resolve_path(c, *f);
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
	if (strcmp(key, "audit.file") == 0) {
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

static void
check_footer(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	if (!utf8_valid((const unsigned char *)c->footer))
		conf_err(lc, s, key, "must be valid UTF-8");
	else if (strlen(c->footer) > 2000)
		conf_err(lc, s, key, "longer than 2000 bytes");
}

static void
check_tag(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	char **f = str_field(c, schema_find(key));

	if (strpbrk(*f, "\r\n") != NULL || strlen(*f) > 200)
		conf_err(lc, s, key, "must be one line of at most 200 bytes");
	if ((*f)[0] == '\0') {
		free(*f);
		*f = NULL;
	}
}

static void
check_size(struct loadctx *lc, struct conf *c, const config_setting_t *s,
    const char *key)
{
	size_t *f = (size_t *)(void *)((char *)c + schema_find(key)->off);

	if (*f == 0)
		conf_err(lc, s, key, "must be greater than 0");
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
static void
load_cidrs(struct loadctx *lc, struct conf *c, const config_t *cfg)
{
	const config_setting_t *arr = config_lookup(cfg, "sign.trusted_hosts"),
	    *e;
	unsigned i, n;

	if (arr == NULL || !type_ok(C_CIDRS, arr) ||
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

/* Stores key k's value (or its default) into c; type checks were done. */
static void
load_key(struct loadctx *lc, struct conf *c, const config_t *cfg,
    const struct conf_key *k)
{
	const config_setting_t *s = config_lookup(cfg, k->name);
	long long iv;

	if (s != NULL && !type_ok(k->type, s))
		s = NULL;	/* already reported; fall back to the default */
	switch (k->type) {
	case C_STRING:
		store_string(c, k, s ? config_setting_get_string(s) : k->defval);
		break;
	case C_ENUM:
		lc->enumval = s ? config_setting_get_string(s) : k->defval;
		break;
	case C_BOOL:
		*(bool *)(void *)((char *)c + k->off) = s ?
		    config_setting_get_bool(s) != 0 : strcmp(k->defval, "true") == 0;
		break;
	case C_INT:
		iv = s ? config_setting_get_int64(s) : atoll(k->defval);
		if (iv < 0) {
			conf_err(lc, s, k->name, "must not be negative");
			iv = atoll(k->defval);
		}
		*(size_t *)(void *)((char *)c + k->off) = (size_t)iv;
		break;
	default:
		return;
	}
	if (k->check != NULL)
		k->check(lc, c, s, k->name);
}

static void
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
static void
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

static void
conf_cross_checks(struct loadctx *lc, struct conf *c, const config_t *cfg)
{
	if (c->memory_threshold > c->max_message_size)
		conf_err(lc, config_lookup(cfg, "limits.memory_body"),
		    "limits.memory_body", "larger than limits.message_size");
	conf_p11_checks(lc, c, cfg);
}

/*
 * libconfig reports an unreadable file as "file I/O error", which reads
 * like a syntax problem; the daemon after dropping privileges meets
 * exactly that (segel.conf root:root 0640), so name the cause: open the
 * file first, and map libconfig's I/O error (an @include) to errno.
 */
static int
conf_read(config_t *cfg, const char *abs, struct diag *d)
{
	FILE *fp;
	int saved;

	if ((fp = fopen(abs, "r")) == NULL) {
		diag_add(d, DIAG_ERROR, abs, 0, "", "cannot read: %s",
		    strerror(errno));
		return -1;
	}
	fclose(fp);
	errno = 0;
	if (config_read_file(cfg, abs) == CONFIG_TRUE)
		return 0;
	saved = errno;
	if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
		diag_add(d, DIAG_ERROR, config_error_file(cfg) ?
		    config_error_file(cfg) : abs, config_error_line(cfg), "",
		    "cannot read: %s", saved ? strerror(saved) :
		    config_error_text(cfg));
	else
		diag_add(d, DIAG_ERROR, config_error_file(cfg) ?
		    config_error_file(cfg) : abs, config_error_line(cfg), "",
		    "syntax error: %s", config_error_text(cfg));
	return -1;
}

struct conf *
conf_load(const char *path, struct diag *d)
{
	struct loadctx lc = { NULL, path, d, 0 };
	struct conf *c = xcalloc(1, sizeof(*c));
	config_t cfg;
	char *abs = NULL, *tmp;
	size_t i;

	config_init(&cfg);
	abs = realpath(path, NULL);
	if (abs == NULL) {
		diag_add(d, DIAG_ERROR, path, 0, "", "cannot read: %s",
		    strerror(errno));
		lc.nerr++;
		goto out;
	}
	c->path = abs;
	tmp = xstrdup(abs);
	c->dir = xstrdup(dirname(tmp));
	free(tmp);
	config_set_include_dir(&cfg, c->dir);
	if (conf_read(&cfg, abs, d) != 0) {
		lc.nerr++;
		goto out;
	}
	walk_unknown(&lc, config_root_setting(&cfg), "");
	/* Booleans first: enabled flags change what other checks require. */
	for (i = 0; i < sizeof(conf_schema) / sizeof(conf_schema[0]); i++)
		if (conf_schema[i].type == C_BOOL)
			load_key(&lc, c, &cfg, &conf_schema[i]);
	for (i = 0; i < sizeof(conf_schema) / sizeof(conf_schema[0]); i++)
		if (conf_schema[i].type != C_BOOL)
			load_key(&lc, c, &cfg, &conf_schema[i]);
	load_cidrs(&lc, c, &cfg);
	load_login_map(&lc, c);
	conf_cross_checks(&lc, c, &cfg);
	if (c->footer != NULL && c->footer[0] == '\0') {
		free(c->footer);
		c->footer = NULL;
	}
out:
	config_destroy(&cfg);
	if (lc.nerr > 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->dir);
	free(c->domain);
	free(c->authserv_id);
	free(c->socket);
	free(c->user);
	free(c->socket_group);
	free(c->trust_file);
	free(c->crl_dir);
	free(c->cert_dir);
	free(c->trusted_hosts);
	free(c->login_map);
	for (i = 0; i < c->n_logins; i++) {
		free(c->logins[i].login);
		free(c->logins[i].address);
	}
	free(c->logins);
	free(c->footer);
	for (i = 0; i < CONF_NTAGS; i++)
		free(c->subject_tag[i]);
	free(c->audit_file);
	free(c->archive_dir);
	free(c->tmp_dir);
	free(c->p11_module);
	free(c->p11_token);
	free(c->p11_pin_file);
	free(c);
}

bool
conf_login_may_send(const struct conf *c, const char *login,
    const char *address)
{
	size_t i;

	if (login == NULL || address == NULL || login[0] == '\0')
		return false;
	if (strcasecmp(login, address) == 0)
		return true;
	for (i = 0; i < c->n_logins; i++)
		if (strcasecmp(c->logins[i].login, login) == 0 &&
		    strcasecmp(c->logins[i].address, address) == 0)
			return true;
	return false;
}
