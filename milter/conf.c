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
#include "conf_impl.h"

#define OFF(f)	offsetof(struct conf, f)
#define NOOFF	((size_t)-1)

const struct conf_key conf_schema[] = {
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
	{ "pki.ocsp", C_ENUM, "off", OFF(pki_ocsp), check_enum },
	{ "pki.ocsp_timeout", C_INT, "3", OFF(ocsp_timeout), check_seconds },
	{ "pki.crl_urls", C_STRLIST, NULL, NOOFF, NULL },
	{ "pki.crl_grace", C_STRING, "24h", OFF(crl_grace_text), check_crl_grace },
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
	{ "sign.header_protection", C_BOOL, "true", OFF(header_protection), NULL },
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
	{ "audit.tsa_url", C_STRING, "", OFF(tsa_url), check_tsa_url },
	{ "audit.tsa_trust", C_STRING, "", OFF(tsa_trust), check_path },
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
	{ "metrics", C_GROUP, NULL, NOOFF, NULL },
	{ "metrics.file", C_STRING, "", OFF(metrics_file), check_path },
	{ "metrics.interval", C_INT, "60", OFF(metrics_interval), check_size },
	{ "lifecycle", C_GROUP, NULL, NOOFF, NULL },
	{ "lifecycle.officer", C_STRING, "", OFF(officer), check_officer },
	{ "lifecycle.notify_days", C_INTS, NULL, NOOFF, NULL },
	{ "lifecycle.sendmail", C_STRING, "/usr/sbin/sendmail -t -i", OFF(notice_sendmail), check_sendmail },
	{ "lifecycle.state_file", C_STRING, "/var/lib/segel/notices.state", OFF(notice_state), check_state_file },
};

void
conf_err(struct loadctx *lc, const config_setting_t *s, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void
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

const struct conf_key *
conf_schema_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(conf_schema) / sizeof(conf_schema[0]); i++)
		if (strcmp(conf_schema[i].name, name) == 0)
			return &conf_schema[i];
	return NULL;
}

/* The number of entries of conf_schema[], for readers of the whole table
 * (tests/unit/test_man.c checks segel.conf(5) against it). */
const size_t conf_schema_len = sizeof(conf_schema) / sizeof(conf_schema[0]);

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
	case C_INTS:	return "a list of whole numbers [ 30, 14, ... ]";
	case C_STRLIST:	return "a list of strings [ \"...\", ... ]";
	}
	return "?";
}

bool
conf_type_ok(enum ctype t, const config_setting_t *s)
{
	int st = config_setting_type(s);

	switch (t) {
	case C_GROUP:	return st == CONFIG_TYPE_GROUP;
	case C_STRING:
	case C_ENUM:	return st == CONFIG_TYPE_STRING;
	case C_BOOL:	return st == CONFIG_TYPE_BOOL;
	case C_INT:	return st == CONFIG_TYPE_INT || st == CONFIG_TYPE_INT64;
	case C_CIDRS:
	case C_INTS:
	case C_STRLIST:	return st == CONFIG_TYPE_ARRAY || st == CONFIG_TYPE_LIST;
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
		k = conf_schema_find(name);
		if (k == NULL) {
			conf_err(lc, s, name, "unknown key");
			continue;
		}
		if (!conf_type_ok(k->type, s)) {
			conf_err(lc, s, name, "must be %s", type_name(k->type));
			continue;
		}
		if (k->type == C_GROUP)
			walk_unknown(lc, s, name);
	}
}

char *
conf_resolve_path(const struct conf *c, const char *v)
{
	if (v[0] == '\0' || v[0] == '/')
		return xstrdup(v);
	return xasprintf("%s/%s", c->dir, v);
}

char **
conf_str_field(struct conf *c, const struct conf_key *k)
{
	return (char **)(void *)((char *)c + k->off);
}

void
conf_store_string(struct conf *c, const struct conf_key *k, const char *v)
{
	char **f = conf_str_field(c, k);

	free(*f);
	*f = xstrdup(v);
}

/* Stores key k's value (or its default) into c; type checks were done. */
static void
load_key(struct loadctx *lc, struct conf *c, const config_t *cfg,
    const struct conf_key *k)
{
	const config_setting_t *s = config_lookup(cfg, k->name);
	long long iv;

	if (s != NULL && !conf_type_ok(k->type, s))
		s = NULL;	/* already reported; fall back to the default */
	switch (k->type) {
	case C_STRING:
		conf_store_string(c, k, s ? config_setting_get_string(s) : k->defval);
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
	load_notify_days(&lc, c, &cfg);
	load_crl_urls(&lc, c, &cfg);
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
	conf_crl_free(c);
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
	free(c->tsa_url);
	free(c->tsa_trust);
	free(c->tmp_dir);
	free(c->p11_module);
	free(c->p11_token);
	free(c->p11_pin_file);
	free(c->metrics_file);
	free(c->officer);
	free(c->notice_sendmail);
	free(c->notice_state);
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
