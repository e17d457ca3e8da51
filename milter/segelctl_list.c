/*
 * segelctl_list.c - the commands that read the store: list, show, expiring.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "audit.h"
#include "certstore.h"
#include "conf.h"
#include "diag.h"
#include "pki.h"
#include "report.h"
#include "runtime.h"
#include "storeadmin.h"
#include "storeadmin_token.h"
#include "notice.h"
#include "segelctl.h"
#include "util.h"


/* The word list/show use, and days left (negative when expired). */
const char *
ctl_status(const struct ctl *x, const struct cert_entry *e, long *days)
{
	const struct cert_entry *got;
	enum cert_status st = certstore_lookup(x->cs, e->address, x->now, &got);

	*days = e->cert ? (long)((e->not_after - x->now) / 86400) : 0;
	if (e->cert && e->not_after < x->now && *days == 0)
		*days = -1;
	switch (st) {
	case CERT_OK:
		return *days <= EXPIRING_DAYS ? "expiring" : "valid";
	case CERT_EXPIRED:
		return "expired";
	default:
		return cert_status_name(st);
	}
}

void
ctl_date(time_t t, char *buf, size_t len, enum ctl_fmt f)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (f) {
	case F_DAY:
		strftime(buf, len, "%Y-%m-%d", &tm);
		break;
	case F_ISO:
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
		break;
	case F_HUMAN:
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
		break;
	case F_STAMP:
		strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
		break;
	}
}

/* Display width of UTF-8 text (code points). */
static int
ctl_width(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static const char *
ctl_issuer_cn(const char *rfc2253, char *buf, size_t len)
{
	const char *p = strncmp(rfc2253, "CN=", 3) == 0 ? rfc2253 + 3 : rfc2253;
	size_t n = 0;

	while (p[n] != '\0' && !(p[n] == ',' && (n == 0 || p[n - 1] != '\\')))
		n++;
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

#define LIST_COLS 9

static void
list_row(char *row[LIST_COLS], int w[LIST_COLS], bool print)
{
	int i;

	for (i = 0; i < LIST_COLS; i++) {
		if (!print) {
			if (ctl_width(row[i]) > w[i])
				w[i] = ctl_width(row[i]);
			continue;
		}
		fputs(row[i], stdout);
		if (i < LIST_COLS - 1)
			printf("%*s", w[i] - ctl_width(row[i]) + 2, "");
	}
	if (print)
		putchar('\n');
}

static void
list_fill(const struct ctl *x, const struct cert_entry *e, char *row[],
    char bufs[][160])
{
	long days;

	row[8] = (char *)ctl_status(x, e, &days);
	row[7] = e->uri != NULL ? "token" : "file";
	row[0] = e->address;
	row[1] = e->subject_cn ? e->subject_cn : "-";
	row[2] = e->unit ? e->unit : "-";
	row[3] = e->serial_hex ? e->serial_hex : "-";
	row[4] = e->issuer ? (char *)ctl_issuer_cn(e->issuer, bufs[0], 160) :
	    "-";
	if (e->cert) {
		ctl_date(e->not_after, bufs[1], 160, F_DAY);
		snprintf(bufs[2], 160, "%ld", days);
	} else {
		strcpy(bufs[1], "-");
		strcpy(bufs[2], "-");
	}
	row[5] = bufs[1];
	row[6] = bufs[2];
}

static void
list_json(const struct ctl *x)
{
	const struct cert_entry *e;
	struct sbuf b;
	char nb[32], na[32];
	long days;
	size_t i;

	sbuf_init(&b);
	sbuf_adds(&b, "[");
	for (i = 0; (e = certstore_get(x->cs, i)) != NULL; i++) {
		const char *st = ctl_status(x, e, &days);

		sbuf_adds(&b, i ? ",\n {" : "\n {");
		sbuf_adds(&b, "\"address\": ");
		audit_json_string(&b, e->address);
		sbuf_adds(&b, ", \"holder\": ");
		audit_json_string(&b, e->subject_cn);
		sbuf_adds(&b, ", \"unit\": ");
		audit_json_string(&b, e->unit);
		sbuf_adds(&b, ", \"serial\": ");
		audit_json_string(&b, e->serial_hex);
		sbuf_adds(&b, ", \"issuer\": ");
		audit_json_string(&b, e->issuer);
		ctl_date(e->not_before, nb, sizeof(nb), F_ISO);
		ctl_date(e->not_after, na, sizeof(na), F_ISO);
		if (e->cert)
			sbuf_printf(&b, ", \"not_before\": \"%s\", "
			    "\"not_after\": \"%s\", \"days_left\": %ld", nb,
			    na, days);
		else
			sbuf_adds(&b, ", \"not_before\": null, \"not_after\": "
			    "null, \"days_left\": null");
		sbuf_printf(&b, ", \"status\": \"%s\", \"problem\": ", st);
		audit_json_string(&b, e->problem);
		sbuf_adds(&b, ", \"file\": ");
		audit_json_string(&b, e->file);
		sbuf_printf(&b, ", \"key_in\": \"%s\", \"key_uri\": ",
		    e->uri != NULL ? "token" : "file");
		audit_json_string(&b, e->uri);
		sbuf_adds(&b, "}");
	}
	sbuf_adds(&b, i ? "\n]\n" : "]\n");
	fputs(b.s, stdout);
	sbuf_free(&b);
}

int
cmd_list(struct ctl *x, int argc, char **argv)
{
	static char *head[LIST_COLS] = { "ADDRESS", "HOLDER", "UNIT", "SERIAL",
	    "ISSUER", "VALID UNTIL", "DAYS", "KEY", "STATUS" };
	char *row[LIST_COLS], bufs[3][160];
	const struct cert_entry *e;
	int w[LIST_COLS] = { 0 }, pass;
	bool json = false;
	size_t i;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		json = true;
	else if (argc != 1)
		usage("list takes only --json");
	ctl_load(x);
	if (json) {
		list_json(x);
		return 0;
	}
	for (pass = 0; pass < 2; pass++) {
		list_row(head, w, pass);
		for (i = 0; (e = certstore_get(x->cs, i)) != NULL; i++) {
			list_fill(x, e, row, bufs);
			list_row(row, w, pass);
		}
	}
	if (certstore_count(x->cs) == 0)
		printf("(no certificates in %s)\n", x->c->cert_dir);
	return 0;
}

static void
show_cert(const char *label, X509 *c)
{
	char *s = certstore_name_rfc2253(X509_get_subject_name(c));
	char *i = certstore_name_rfc2253(X509_get_issuer_name(c));
	char *ser = certstore_serial_hex(c);
	BIO *b = BIO_new_fp(stdout, BIO_NOCLOSE);

	printf("  %s: %s\n      issuer %s, serial %s, valid ", label, s, i, ser);
	ASN1_TIME_print(b, X509_get0_notBefore(c));
	BIO_printf(b, " .. ");
	ASN1_TIME_print(b, X509_get0_notAfter(c));
	BIO_printf(b, "\n");
	BIO_free(b);
	free(s);
	free(i);
	free(ser);
}

static void
show_chain(const struct ctl *x, const struct cert_entry *e)
{
	X509 *top = e->cert, *a;
	int i;

	printf("chain:\n");
	show_cert("certificate", e->cert);
	for (i = 0; i < sk_X509_num(e->chain); i++) {
		top = sk_X509_value(e->chain, i);
		show_cert("intermediate", top);
	}
	for (i = 0; i < sk_X509_num(x->p->anchors); i++) {
		a = sk_X509_value(x->p->anchors, i);
		if (X509_check_issued(a, top) == X509_V_OK) {
			show_cert("trust anchor", a);
			return;
		}
	}
	printf("  trust anchor: none of %s issued it\n", x->c->trust_file);
}

static void
show_revocation(const struct ctl *x, const struct cert_entry *e)
{
	char *local = certstore_local_reason(x->c->cert_dir, e->cert);

	printf("revocation:\n  CRL (%s): %s\n", x->c->crl_dir ? x->c->crl_dir :
	    "no crl_dir", pki_is_revoked(x->p, e->cert) ? "REVOKED (listed)" :
	    "not listed");
	printf("  local list (%s/revoked.list): %s\n", x->c->cert_dir,
	    local ? local : "not listed");
	free(local);
}

int
cmd_show(struct ctl *x, int argc, char **argv)
{
	const struct cert_entry *e;
	char nb[40], na[40];
	long days;

	if (argc != 2)
		usage("show takes one ADDRESS");
	ctl_load(x);
	certstore_lookup(x->cs, argv[1], x->now, &e);
	if (e == NULL) {
		fprintf(stderr, "segelctl: no certificate for %s in %s\n",
		    argv[1], x->c->cert_dir);
		return 1;
	}
	printf("address:     %s\nfile:        %s\nstatus:      %s\n",
	    e->address, e->file, ctl_status(x, e, &days));
	printf("key in:      %s%s\n", e->uri != NULL ? "token " : "file",
	    e->uri != NULL ? e->uri : "");
	if (e->problem)
		printf("problem:     %s\n", e->problem);
	if (e->cert == NULL)
		return 0;
	ctl_date(e->not_before, nb, sizeof(nb), F_HUMAN);
	ctl_date(e->not_after, na, sizeof(na), F_HUMAN);
	printf("holder:      %s\nunit:        %s\nserial:      %s\n"
	    "issuer:      %s\nvalid from:  %s\nvalid until: %s (%ld days "
	    "left)\nkey:         %s, %d bits\n", e->subject_cn ? e->subject_cn :
	    "-", e->unit ? e->unit : "-", e->serial_hex, e->issuer, nb, na,
	    days, e->key ? OBJ_nid2sn(EVP_PKEY_get_base_id(e->key)) : "-",
	    e->key ? EVP_PKEY_get_bits(e->key) : 0);
	show_chain(x, e);
	show_revocation(x, e);
	return 0;
}

int
cmd_expiring(struct ctl *x, int argc, char **argv)
{
	const struct cert_entry *e;
	char *end = NULL, date[32];
	long days = EXPIRING_DAYS, left;
	size_t i, n = 0;
	bool notify = false;
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--notify") == 0) {
			notify = true;
			continue;
		}
		if (strcmp(argv[a], "--days") != 0 || ++a >= argc)
			usage("expiring [--days N] [--notify] (N: days ahead, "
			    "default 30)");
		days = strtol(argv[a], &end, 10);
		if (*argv[a] == '\0' || *end != '\0' || days < 0 ||
		    days > 36500)
			usage("--days wants a number of days (0..36500)");
	}
	ctl_load(x);
	for (i = 0; (e = certstore_get(x->cs, i)) != NULL; i++) {
		if (e->cert == NULL || e->status == CERT_REVOKED ||
		    e->not_after - x->now > days * 86400L)
			continue;
		ctl_date(e->not_after, date, sizeof(date), F_DAY);
		ctl_status(x, e, &left);
		if (e->not_after < x->now)
			printf("%s: expired on %s (serial %s)\n", e->address,
			    date, e->serial_hex);
		else
			printf("%s: expires on %s, in %ld day%s (serial %s)\n",
			    e->address, date, left, left == 1 ? "" : "s",
			    e->serial_hex);
		n++;
	}
	if (n == 0)
		printf("no certificate expires within %ld days\n", days);
	/* with --notify the status is the notices' (notice.h): 1 when one
	 * could not be sent, whatever expires */
	if (notify)
		return notice_expiring(x->c, x->cs, x->now, stdout) != 0 ? 1 : 0;
	return n > 0 ? 1 : 0;
}
