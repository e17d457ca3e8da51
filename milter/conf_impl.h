/*
 * conf_impl.h - what the configuration loader (conf.c) and its value checks
 * (conf_check.c) share. Not for the rest of segel: conf.h is the interface.
 */
#ifndef CONF_IMPL_H
#define CONF_IMPL_H

#include <stddef.h>

#include <libconfig.h>

#include "conf.h"

enum ctype { C_GROUP, C_STRING, C_ENUM, C_BOOL, C_INT, C_CIDRS, C_INTS,
    C_STRLIST };

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

/* conf.c */
void conf_err(struct loadctx *, const config_setting_t *, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
const struct conf_key *conf_schema_find(const char *name);
extern const struct conf_key conf_schema[];
extern const size_t conf_schema_len;
bool conf_type_ok(enum ctype, const config_setting_t *);
char *conf_resolve_path(const struct conf *, const char *);
char **conf_str_field(struct conf *, const struct conf_key *);
void conf_store_string(struct conf *, const struct conf_key *, const char *);

/* conf_check.c: the value checks the schema names */
#define CONF_CHECK(name) void name(struct loadctx *, struct conf *, \
    const config_setting_t *, const char *)
CONF_CHECK(check_domain);
CONF_CHECK(check_servid);
CONF_CHECK(check_socket);
CONF_CHECK(check_user);
CONF_CHECK(check_group);
CONF_CHECK(check_enum);
CONF_CHECK(check_tlsver);
CONF_CHECK(check_path);
CONF_CHECK(check_tag);
CONF_CHECK(check_footer);
CONF_CHECK(check_size);
CONF_CHECK(check_pin_file);
CONF_CHECK(check_tsa_url);
CONF_CHECK(check_seconds);
CONF_CHECK(check_officer);
CONF_CHECK(check_sendmail);
CONF_CHECK(check_state_file);
CONF_CHECK(check_crl_grace);
#undef CONF_CHECK

/* conf_check.c: what needs more than one key */
void load_cidrs(struct loadctx *, struct conf *, const config_t *);
void load_login_map(struct loadctx *, struct conf *);
/* conf_crl.c: pki.crl_urls */
void load_crl_urls(struct loadctx *, struct conf *, const config_t *);
void conf_crl_free(struct conf *);
void conf_cross_checks(struct loadctx *, struct conf *, const config_t *);
/* conf_lifecycle.c: lifecycle.notify_days */
void load_notify_days(struct loadctx *, struct conf *, const config_t *);

#endif
