/*
 * conf.h - the configuration: one schema table, loaded with libconfig.
 *
 * conf_load() reads FILE, checks every key against the schema (unknown keys,
 * wrong types, bad enum values, bad CIDRs, missing files), and reports every
 * problem into a diag as "FILE:LINE: key: problem". On success it returns a
 * complete, immutable struct conf that the caller owns (conf_free()).
 * Relative paths are resolved against the configuration file's folder.
 */
#ifndef SEGEL_CONF_H
#define SEGEL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "diag.h"

#define SEGEL_DEFAULT_CONF "/etc/segel/segel.conf"

enum on_error { ON_ERROR_TEMPFAIL, ON_ERROR_ACCEPT, ON_ERROR_REJECT };
enum on_no_cert { NOCERT_REJECT, NOCERT_TEMPFAIL, NOCERT_ACCEPT };
enum unsigned_own { UNSIGNED_OWN_TAG, UNSIGNED_OWN_REJECT, UNSIGNED_OWN_NONE };

/* An address block: family AF_INET or AF_INET6, network bytes, prefix. */
struct cidr {
	int family;
	unsigned char addr[16];
	int bits;
};

/* "login address" pairs from sign.login_map, both lower-cased. */
struct login_pair {
	char *login;
	char *address;
};

/* At most this many lifecycle.notify_days thresholds. */
#define CONF_MAX_NOTIFY 8

/* Subject tags per verification result (NULL: none). Index: enum ar_result. */
#define CONF_NTAGS 8

struct conf {
	char *path;		/* absolute path of the file */
	char *dir;		/* its folder */

	char *domain;
	char *authserv_id;
	char *socket;
	char *user;		/* "" means do not change user */
	char *socket_group;	/* group of a unix socket, "" = user's */
	enum on_error on_error;
	int log_level;		/* syslog priority: LOG_ERR .. LOG_DEBUG */

	char *trust_file;
	char *crl_dir;		/* NULL when unset */
	int pki_ocsp;		/* enum ocsp_mode (ocsp.h) */
	size_t ocsp_timeout;	/* s, pki.ocsp_timeout */
	char **crl_urls;	/* pki.crl_urls: more CRL addresses to fetch */
	size_t n_crl_urls;
	char *crl_grace_text;	/* pki.crl_grace as written ("24h") */
	long crl_grace;		/* the same in seconds (conf_crl.c) */

	bool tls_enforce;
	int tls_min_version;	/* 0x0301 (1.0) .. 0x0304 (1.3) */

	bool sign_enabled;
	char *cert_dir;
	struct cidr *trusted_hosts;
	size_t n_trusted_hosts;
	char *login_map;	/* NULL when unset */
	struct login_pair *logins;
	size_t n_logins;
	char *footer;		/* NULL or "" means none */
	enum on_no_cert on_no_cert;
	bool header_protection;	/* RFC 9788 copies in part 1, hp="clear" */

	bool verify_enabled;
	enum unsigned_own unsigned_own_domain;
	char *subject_tag[CONF_NTAGS];	/* indexed by enum ar_result */

	char *audit_file;	/* NULL when unset */
	char *archive_dir;	/* NULL when unset */
	char *tsa_url;		/* audit.tsa_url: RFC 3161 TSA, or NULL */
	char *tsa_trust;	/* audit.tsa_trust: its CA (PEM), or NULL */

	size_t max_message_size;	/* limits.message_size */
	size_t memory_threshold;	/* limits.memory_body: spool beyond */
	size_t max_header_bytes;	/* limits.header_bytes (all headers) */
	size_t max_headers;		/* limits.header_count */
	char *tmp_dir;			/* limits.tmp_dir */

	/* pkcs11 group (issue 15): all NULL when absent, all set when
	 * present; the PIN file is checked (root-only) but read by the store */
	char *p11_module;
	char *p11_token;
	char *p11_pin_file;

	/* metrics group: a Prometheus text file (metrics.c) */
	char *metrics_file;		/* NULL when unset */
	size_t metrics_interval;	/* seconds between writes */
	/* lifecycle group (issue 14: notices, conf_lifecycle.c) */
	char *officer;		/* registration officer's address, or NULL */
	int notify_days[CONF_MAX_NOTIFY];	/* descending, > 0 */
	size_t n_notify_days;
	char *notice_sendmail;	/* command line, split on blanks */
	char *notice_state;	/* notices already sent (absolute path) */
};

/*
 * Loads and validates path. Returns NULL when any error was found (all of
 * them are in d); warnings do not prevent loading.
 */
struct conf *conf_load(const char *path, struct diag *d);
void conf_free(struct conf *);

/* Pure helpers, also used by the policy and tests. */
bool conf_parse_cidr(const char *, struct cidr *);
bool cidr_match(const struct cidr *, int family, const void *addr);
/* "24h", "2d", "90m", "600", "0": seconds, or -1 (conf_crl.c). */
long conf_parse_duration(const char *);
/* Parses "TLSv1.2", "TLSv1", "TLSv1.3", "SSLv3"; returns 0x03xx or -1. */
int conf_parse_tls_version(const char *);
/* True when login may sign as address under c (equal, or paired). */
bool conf_login_may_send(const struct conf *c, const char *login,
    const char *address);

#endif
