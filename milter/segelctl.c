/*
 * segelctl.c - the officer's tool for the certificate store and the audit
 * log: list, show, import, revoke, expiring, check, audit verify, report.
 *
 *   segelctl [-c FILE] COMMAND ...
 *
 * Exit status: 0 success; 1 refused, found (expiring), broken (audit), or
 * a running daemon that did not take the change; 64 usage; 78
 * configuration or store unusable. Every change (import, revoke) is
 * written to the audit log with role "admin" and makes a running
 * segel-milter reload (SIGUSR1); segelctl waits for the daemon's reload
 * record in the audit log and prints its outcome.
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
#include "util.h"

#define EXPIRING_DAYS	30
#define RELOAD_WAIT	15	/* s; SEGELCTL_RELOAD_WAIT overrides */

struct ctl {
	const char *conf_path;
	struct conf *c;
	struct pki *p;
	struct certstore *cs;
	struct diag d;
	time_t now;
};

static const char usage_text[] =
    "usage: segelctl [-c FILE] COMMAND ...\n"
    "  list [--json]                     the certificates in the store\n"
    "  show ADDRESS                      one certificate in full\n"
    "  import FILE.p12 [--pass-file F] [--address ADDRESS] [--to-token]\n"
    "                                    --to-token: the key into the "
    "PKCS#11\n"
    "                                    token (pkcs11 group), no copy left "
    "in\n"
    "                                    the store\n"
    "  revoke ADDRESS --reason TEXT [--cert FILE] [--destroy-key]\n"
    "                                    --destroy-key: also the token's "
    "key\n"
    "                                    final: never usable again\n"
    "  expiring [--days N]               exit 1 when any expires within N "
    "days\n"
    "                                    (default 30)\n"
    "  check                             as segel-milter -n\n"
    "  audit verify [--anchor HEAD]      check the audit log's chain "
    "(and that\n"
    "                                    a head noted earlier is in it)\n"
    "  report --since DATE [--until DATE] [--html FILE]\n"
    "import and revoke make a running segel-milter of FILE reload and wait "
    "for its\n"
    "answer (SEGELCTL_RELOAD_WAIT seconds, default 15): exit 1 when it did "
    "not\n"
    "take the change.\n";

static void __attribute__((noreturn))
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "segelctl: %s\n", why);
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

/* Asked for (-h, --help): the usage on stdout, success. */
static void __attribute__((noreturn))
help(void)
{
	fputs(usage_text, stdout);
	exit(0);
}

/* Loads configuration, trust store and certificate store, or exits 78. */
static void
ctl_load(struct ctl *x)
{
	diag_init(&x->d);
	x->now = time(NULL);
	if ((x->c = conf_load(x->conf_path, &x->d)) == NULL)
		goto fail;
	if ((x->p = pki_load(x->c, &x->d)) == NULL)
		goto fail;
	x->cs = certstore_load(x->c, x->p, &x->d);
	if (diag_count(&x->d, DIAG_ERROR) > 0) {
		/* the daemon would refuse this store: say so, then go on */
		struct diag errs;
		size_t i;

		diag_init(&errs);
		for (i = 0; i < x->d.n; i++)
			if (x->d.items[i].sev == DIAG_ERROR)
				diag_add(&errs, DIAG_ERROR, x->d.items[i].file,
				    x->d.items[i].line, x->d.items[i].key, "%s",
				    x->d.items[i].msg);
		diag_print(&errs, stderr);
		diag_free(&errs);
	}
	return;
fail:
	diag_print(&x->d, stderr);
	exit(EX_CONFIG);
}

static void
ctl_free(struct ctl *x)
{
	certstore_free(x->cs);
	pki_free(x->p);
	conf_free(x->c);
	diag_free(&x->d);
}

/* The word list/show use, and days left (negative when expired). */
static const char *
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

enum ctl_fmt { F_DAY, F_ISO, F_HUMAN, F_STAMP };

static void
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

static int
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

static int
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

/* The operator, for the audit record. */
static const char *
ctl_operator(void)
{
	const char *s = getenv("SUDO_USER");
	struct passwd *pw;

	if (s != NULL && *s != '\0')
		return s;
	pw = getpwuid(getuid());
	return pw ? pw->pw_name : "unknown";
}

/* Writes one admin record; 0 also when no audit log is configured. */
static int
ctl_audit(const struct ctl *x, const char *event, const char *addr,
    const char *serial, const char *result, const char *reason,
    const char *unit)
{
	struct audit_rec r = { event, NULL, NULL, "admin", addr, ctl_operator(),
	    serial, result, reason, NULL, unit };
	struct sbuf err;
	struct audit *a;
	int rc;

	if (x->c->audit_file == NULL)
		return 0;
	sbuf_init(&err);
	if ((a = audit_open(x->c->audit_file, &err)) == NULL) {
		fprintf(stderr, "segelctl: %s\n", err.s);
		sbuf_free(&err);
		return -1;
	}
	if ((rc = audit_write(a, &r)) != 0)
		fprintf(stderr, "segelctl: %s: audit write failed: %s\n",
		    x->c->audit_file, strerror(errno));
	audit_close(a);
	sbuf_free(&err);
	return rc;
}

/* The passphrase: first line of file, or asked on the terminal. */
/* One line from fd into buf (NUL-terminated, line end cut), with read(2):
 * stdio's buffer would keep a copy of the passphrase after fclose. */
static void
pass_line(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got) != NULL)
			break;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
}

static char *
import_pass(const char *file, const char *p12)
{
	struct termios old, quiet;
	char buf[1024], *s;
	int fd;

	if (file != NULL) {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "segelctl: %s: %s\n", file,
			    strerror(errno));
			return NULL;
		}
		pass_line(fd, buf, sizeof(buf));
		close(fd);
	} else {
		if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) < 0) {
			fprintf(stderr, "segelctl: no terminal to ask for the "
			    "passphrase: use --pass-file\n");
			return NULL;
		}
		dprintf(fd, "Passphrase of %s: ", p12);
		tcgetattr(fd, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
		pass_line(fd, buf, sizeof(buf));
		tcsetattr(fd, TCSAFLUSH, &old);
		dprintf(fd, "\n");
		close(fd);
	}
	s = xstrdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return s;
}

/* The one address in the domain the certificate names, or NULL. */
static char *
import_address(const struct ctl *x, X509 *cert, char *why, size_t len)
{
	STACK_OF(OPENSSL_STRING) *em = X509_get1_email(cert);
	char *found = NULL, *a;
	int i, n = 0;

	for (i = 0; i < sk_OPENSSL_STRING_num(em); i++) {
		a = addr_normalize(sk_OPENSSL_STRING_value(em, i));
		if (a != NULL && addr_in_domain(a, x->c->domain) &&
		    (found == NULL || strcmp(found, a) != 0)) {
			free(found);
			found = a;
			n++;
		} else {
			free(a);
		}
	}
	X509_email_free(em);
	if (n == 1)
		return found;
	free(found);
	snprintf(why, len, n == 0 ? "the certificate names no address in the "
	    "domain %s" : "the certificate names several addresses in %s: "
	    "choose one with --address", x->c->domain);
	return NULL;
}

struct import_args {
	const char *file, *pass_file, *address;
	bool to_token;
};

static void
import_parse(int argc, char **argv, struct import_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pass-file") == 0 && i + 1 < argc)
			a->pass_file = argv[++i];
		else if (strcmp(argv[i], "--address") == 0 && i + 1 < argc)
			a->address = argv[++i];
		else if (strcmp(argv[i], "--to-token") == 0)
			a->to_token = true;
		else if (argv[i][0] == '-' || a->file != NULL)
			usage("import FILE.p12 [--pass-file F] [--address A]");
		else
			a->file = argv[i];
	}
	if (a->file == NULL)
		usage("import needs FILE.p12");
}

/* Checks e as the daemon would, and its dates now; NULL or the reason. */
static const char *
import_judge(const struct ctl *x, struct cert_entry *e, STACK_OF(X509) *ca)
{
	certstore_validate(e, ca, x->c, x->p);
	if (e->status != CERT_OK)
		return e->problem;
	if (x->now > e->not_after)
		return "the certificate has expired";
	if (x->now < e->not_before)
		return "the certificate is not valid yet";
	return NULL;
}

/* How long a reload may take: loading every p12 of a large store. */
static int
ctl_reload_wait_ms(void)
{
	const char *v = getenv("SEGELCTL_RELOAD_WAIT");
	long s = v != NULL ? strtol(v, NULL, 10) : 0;

	return (s > 0 && s <= 3600 ? (int)s : RELOAD_WAIT) * 1000;
}

/*
 * Tells a running daemon of this configuration to reload, and waits for
 * its answer in the audit log (storeadmin_await_reload). 0 when it took
 * the change or none runs; 1, said loudly, when one runs and did not.
 */
static int
ctl_reload(const struct ctl *x)
{
	pid_t pids[16];
	struct sbuf msg, why;
	struct stat st;
	off_t off = 0;
	int i, n, nfail, r, rc = 0;

	if (x->c->audit_file != NULL && stat(x->c->audit_file, &st) == 0)
		off = st.st_size;
	sbuf_init(&msg);
	n = storeadmin_signal_daemon(x->conf_path, pids, 16, &nfail, &msg);
	fputs(msg.s ? msg.s : "", nfail > 0 ? stderr : stdout);
	sbuf_free(&msg);
	if (nfail > 0)
		rc = 1;		/* a daemon runs that did not get the news */
	for (i = 0; i < n; i++) {
		if (x->c->audit_file == NULL) {
			fprintf(stderr, "segelctl: cannot tell whether "
			    "segel-milter (pid %ld) took the change: audit.file "
			    "is off, and the daemon reports reloads there; see "
			    "its log\n", (long)pids[i]);
			rc = 1;
			continue;
		}
		sbuf_init(&why);
		r = storeadmin_await_reload(x->c->audit_file, off, pids[i],
		    ctl_reload_wait_ms(), &why);
		if (r == 0)
			printf("segel-milter (pid %ld) reloaded: %s\n",
			    (long)pids[i], why.s ? why.s : "");
		else {
			fprintf(stderr, "segelctl: segel-milter (pid %ld) did "
			    "NOT take the change: %s%s; it keeps the previous "
			    "configuration and certificates. Fix this, then "
			    "\"systemctl reload segel-milter\"\n", (long)pids[i],
			    r == 1 ? "reload failed: " : "", why.s ? why.s : "?");
			rc = 1;
		}
		sbuf_free(&why);
	}
	return rc;
}

/* Stores a judged certificate, records it, makes the daemon reload. */
static int
import_commit(const struct ctl *x, const struct cert_entry *e,
    const struct sbuf *p12, const char *pass, const char *file)
{
	const struct cert_entry *old;
	struct sbuf err;
	char *kept = NULL, until[32];
	int lock, rc = 1;

	sbuf_init(&err);
	certstore_lookup(x->cs, e->address, x->now, &old);
	if ((lock = storeadmin_lock(x->c->cert_dir)) < 0)
		sbuf_printf(&err, "cannot lock %s: %s", x->c->cert_dir,
		    strerror(errno));
	else if (storeadmin_install(x->c->cert_dir, e->address, old ?
	    old->serial_hex : NULL, x->now, p12, pass, &kept, &err) == 0)
		rc = 0;
	if (lock >= 0)
		close(lock);
	if (rc != 0) {
		fprintf(stderr, "segelctl: %s\n", err.s);
		sbuf_free(&err);
		return 1;
	}
	if (kept != NULL)
		printf("kept the previous certificate as %s\n", kept);
	ctl_date(e->not_after, until, sizeof(until), F_DAY);
	printf("imported %s for %s (serial %s, valid until %s)\n", file,
	    e->address, e->serial_hex, until);
	rc = ctl_audit(x, "import", e->address, e->serial_hex, "imported",
	    file, e->unit) == 0 ? 0 : 1;
	if (ctl_reload(x) != 0)
		rc = 1;
	free(kept);
	sbuf_free(&err);
	return rc;
}

/* What else on this host may still hold the key moved into the token. */
static void
import_token_leftovers(const struct ctl *x, const char *addr,
    const char *file)
{
	char *pat = xasprintf("%s/history/%s-*.p12", x->c->cert_dir, addr);
	char *inside = xasprintf("%s/%s.p12", x->c->cert_dir, addr);
	glob_t g;
	size_t i;

	if (strcmp(file, inside) != 0 && access(file, F_OK) == 0)
		printf("NOTE: %s still holds the key: destroy it (shred -u) or "
		    "keep it offline\n", file);
	/* an address with pattern characters only widens this advice */
	if (glob(pat, GLOB_NOESCAPE, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			printf("NOTE: %s may hold this key too (an earlier "
			    "import)\n", g.gl_pathv[i]);
		globfree(&g);
	}
	free(pat);
	free(inside);
}

/* import --to-token: the key into the token, .crt + .uri in the store. */
static int
import_commit_token(const struct ctl *x, const struct cert_entry *e,
    STACK_OF(X509) *ca, const char *file)
{
	struct sbuf err;
	char *uri = NULL;
	int lock, rc = 1;

	sbuf_init(&err);
	if ((lock = storeadmin_lock(x->c->cert_dir)) < 0)
		sbuf_printf(&err, "cannot lock %s: %s", x->c->cert_dir,
		    strerror(errno));
	else if (storeadmin_to_token(x->c, e, ca, &uri, &err) == 0)
		rc = 0;
	if (lock >= 0)
		close(lock);
	if (rc != 0) {
		fprintf(stderr, "segelctl: import refused: %s: %s\n", file,
		    err.s ? err.s : "?");
		goto out;
	}
	printf("moved the key of %s for %s (serial %s) into the token: %s\n"
	    "the store holds %s/%s.crt and .uri; no .p12 or .pass\n", file,
	    e->address, e->serial_hex, uri, x->c->cert_dir, e->address);
	import_token_leftovers(x, e->address, file);
	rc = ctl_audit(x, "import", e->address, e->serial_hex, "imported",
	    "key moved into the PKCS#11 token", e->unit) == 0 ? 0 : 1;
	if (ctl_reload(x) != 0)
		rc = 1;
out:
	free(uri);
	sbuf_free(&err);
	return rc;
}

static int
cmd_import(struct ctl *x, int argc, char **argv)
{
	struct import_args a;
	struct cert_entry e;
	STACK_OF(X509) *ca = NULL;
	struct sbuf p12;
	char *pass = NULL, why[256];
	const char *bad = NULL;
	int rc = 1;

	import_parse(argc, argv, &a);
	memset(&e, 0, sizeof(e));
	sbuf_init(&p12);
	ctl_load(x);
	if (storeadmin_slurp(a.file, &p12) != 0) {
		fprintf(stderr, "segelctl: %s: %s\n", a.file, strerror(errno));
		goto out;
	}
	if ((pass = import_pass(a.pass_file, a.file)) == NULL)
		goto out;
	if (certstore_decode(a.file, pass, &e.cert, &e.key, &ca, why,
	    sizeof(why)) != 0) {
		bad = why;
		goto out;
	}
	e.address = a.address ? addr_normalize(a.address) :
	    import_address(x, e.cert, why, sizeof(why));
	if (e.address == NULL) {
		bad = a.address ? "--address is not a mail address" : why;
		goto out;
	}
	e.file = xstrdup(a.file);
	if ((bad = import_judge(x, &e, ca)) == NULL)
		rc = a.to_token ? import_commit_token(x, &e, ca, a.file) :
		    import_commit(x, &e, &p12, pass, a.file);
out:
	if (bad != NULL)
		fprintf(stderr, "segelctl: import refused: %s: %s\n", a.file,
		    bad);
	secret_free(pass, 0);
	if (p12.s != NULL)
		OPENSSL_cleanse(p12.s, p12.len);
	sbuf_free(&p12);
	sk_X509_pop_free(ca, X509_free);
	certstore_entry_clear(&e);
	return rc;
}

/* The certificate in path, PEM or DER; NULL when there is none. */
static X509 *
read_cert_file(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *c = NULL;

	if (b != NULL && (c = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL &&
	    BIO_reset(b) == 0)
		c = d2i_X509_bio(b, NULL);
	BIO_free(b);
	ERR_clear_error();
	return c;
}

/*
 * The entry revoke --cert FILE describes: the certificate of FILE (the
 * CA's copy, or one kept in history/), which must name addr. For an entry
 * whose .p12 cannot be decoded (a lost passphrase): its serial is unknown
 * otherwise, and a passphrase found again must not bring it back.
 */
static int
revoke_entry_from(const char *file, const char *addr, struct cert_entry *t)
{
	char *q;

	memset(t, 0, sizeof(*t));
	if ((t->cert = read_cert_file(file)) == NULL) {
		fprintf(stderr, "segelctl: %s: no certificate\n", file);
		return -1;
	}
	t->address = xstrdup(addr);
	for (q = t->address; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	if (!certstore_names_address(t->cert, t->address)) {
		fprintf(stderr, "segelctl: %s: the certificate does not name "
		    "%s\n", file, t->address);
		return -1;
	}
	t->serial_hex = certstore_serial_hex(t->cert);
	t->issuer = certstore_name_rfc2253(X509_get_issuer_name(t->cert));
	return t->serial_hex != NULL && t->issuer != NULL ? 0 : -1;
}

/*
 * revoke --destroy-key: the token object of addr's entry goes too (the
 * revocation comes first, so a key that cannot be destroyed is still
 * never used). A file key needs no such step: revoke makes the store
 * refuse it, and the officer removes the file.
 */
static int
revoke_destroy(const struct ctl *x, const char *addr)
{
	const struct cert_entry *e;
	struct sbuf err;
	int r;

	certstore_lookup(x->cs, addr, x->now, &e);
	if (e == NULL || e->uri == NULL) {
		printf("%s: the key is not in a token; nothing destroyed\n",
		    addr);
		return 0;
	}
	sbuf_init(&err);
	if ((r = storeadmin_token_destroy(x->c, e->uri, &err)) < 0)
		fprintf(stderr, "segelctl: %s: the token key was NOT "
		    "destroyed: %s\n", addr, err.s ? err.s : "?");
	else
		printf("%s: token key %s %s\n", addr, e->uri, r == 0 ?
		    "destroyed" : "was not in the token");
	sbuf_free(&err);
	return r < 0 ? -1 : 0;
}

static int
cmd_revoke(struct ctl *x, int argc, char **argv)
{
	const struct cert_entry *e;
	const char *reason = NULL, *certfile = NULL;
	struct cert_entry given;
	struct sbuf err;
	bool destroy = false;
	int i, lock, rc = 1;

	for (i = 2; i < argc; i++)
		if (strcmp(argv[i], "--destroy-key") == 0)
			destroy = true;
		else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
			certfile = argv[++i];
		else
			break;
	if (argc < 4 || i != argc || reason == NULL || *reason == '\0')
		usage("revoke ADDRESS --reason TEXT [--cert FILE] "
		    "[--destroy-key]");
	ctl_load(x);
	memset(&given, 0, sizeof(given));
	if (certfile != NULL) {
		if (revoke_entry_from(certfile, argv[1], &given) != 0)
			goto out;
		e = &given;
	} else {
		certstore_lookup(x->cs, argv[1], x->now, &e);
		if (e == NULL || e->cert == NULL) {
			fprintf(stderr, "segelctl: %s: %s\n", argv[1],
			    e == NULL ? "no certificate in the store" : "the "
			    "certificate cannot be read, so its serial is "
			    "unknown: give it with --cert FILE (the CA's copy)");
			goto out;
		}
	}
	if ((lock = storeadmin_lock(x->c->cert_dir)) < 0) {
		fprintf(stderr, "segelctl: cannot lock %s\n", x->c->cert_dir);
		goto out;
	}
	sbuf_init(&err);
	if (certstore_locally_revoked(x->c->cert_dir, e->cert)) {
		/* again after a reload that failed: make sure it is taken */
		printf("%s (serial %s) is already revoked\n", e->address,
		    e->serial_hex);
		rc = ctl_reload(x);
	} else if (storeadmin_revoke(x->c->cert_dir, e, reason, x->now,
	    &err) == 0) {
		printf("revoked %s (serial %s, issuer %s): %s\n", e->address,
		    e->serial_hex, e->issuer, reason);
		rc = ctl_audit(x, "revoke", e->address, e->serial_hex,
		    "revoked", reason, e->unit) == 0 ? 0 : 1;
		if (ctl_reload(x) != 0)
			rc = 1;
	} else {
		fprintf(stderr, "segelctl: %s\n", err.s);
	}
	close(lock);
	sbuf_free(&err);
	if (destroy && revoke_destroy(x, argv[1]) != 0)
		rc = 1;
out:
	certstore_entry_clear(&given);
	return rc;
}

static int
cmd_expiring(struct ctl *x, int argc, char **argv)
{
	const struct cert_entry *e;
	char *end = NULL, date[32];
	long days, left;
	size_t i, n = 0;

	if (argc == 1)
		days = EXPIRING_DAYS;
	else if (argc != 3 || strcmp(argv[1], "--days") != 0)
		usage("expiring [--days N] (N: days ahead, default 30)");
	else {
		days = strtol(argv[2], &end, 10);
		if (*argv[2] == '\0' || *end != '\0' || days < 0 ||
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
	return n > 0 ? 1 : 0;
}

static int
cmd_check(struct ctl *x, int argc, char **argv)
{
	struct runtime *rt;
	struct diag d;
	int rc;

	(void)argv;
	if (argc != 1)
		usage("check takes no arguments");
	diag_init(&d);
	rt = runtime_load(x->conf_path, &d, false);
	diag_print(&d, stdout);
	rc = rt != NULL && diag_count(&d, DIAG_ERROR) == 0 ? 0 : EX_CONFIG;
	if (rc == 0)
		printf("%s: configuration OK (%zu certificate(s), %zu "
		    "warning(s))\n", x->conf_path, rt->store ?
		    certstore_count(rt->store) : 0,
		    diag_count(&d, DIAG_WARNING));
	runtime_free(rt);
	diag_free(&d);
	return rc;
}

static int
cmd_audit(struct ctl *x, int argc, char **argv)
{
	const char *anchor = NULL;
	struct sbuf err;
	int rc;

	if (argc == 4 && strcmp(argv[2], "--anchor") == 0)
		anchor = argv[3];
	else if (argc != 2)
		usage("audit verify [--anchor HEAD]");
	if (strcmp(argv[1], "verify") != 0 || (anchor != NULL &&
	    (strlen(anchor) != 64 || strspn(anchor, "0123456789abcdef") != 64)))
		usage("audit verify [--anchor HEAD]: HEAD is the 64 lowercase "
		    "hex digits of a head printed earlier");
	diag_init(&x->d);
	if ((x->c = conf_load(x->conf_path, &x->d)) == NULL) {
		diag_print(&x->d, stderr);
		return EX_CONFIG;
	}
	if (x->c->audit_file == NULL) {
		fprintf(stderr, "segelctl: %s: audit.file is not set\n",
		    x->conf_path);
		return EX_CONFIG;
	}
	sbuf_init(&err);
	rc = audit_verify(x->c->audit_file, anchor, &err);
	if (rc == 0)
		printf("%s: %s\n", x->c->audit_file, err.s);
	else
		printf("audit log BROKEN: %s\n", err.s);
	sbuf_free(&err);
	return rc == 0 ? 0 : 1;
}

static int
cmd_report(struct ctl *x, int argc, char **argv)
{
	const char *since = NULL, *until = NULL, *html = NULL;
	time_t t0, t1;
	struct sbuf err;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage("report --since DATE [--until DATE] [--html FILE]");
		if (strcmp(argv[i], "--since") == 0)
			since = argv[++i];
		else if (strcmp(argv[i], "--until") == 0)
			until = argv[++i];
		else if (strcmp(argv[i], "--html") == 0)
			html = argv[++i];
		else
			usage("report --since DATE [--until DATE] [--html FILE]");
	}
	if (since == NULL || (t0 = report_parse_date(since)) == (time_t)-1)
		usage("report needs --since YYYY-MM-DD");
	t1 = time(NULL) + 1;
	if (until != NULL) {
		if ((t1 = report_parse_date(until)) == (time_t)-1)
			usage("--until wants YYYY-MM-DD");
		if (strlen(until) == 10)
			t1 += 86400;	/* the whole day */
	}
	ctl_load(x);
	if (x->c->audit_file == NULL) {
		fprintf(stderr, "segelctl: %s: audit.file is not set\n",
		    x->conf_path);
		return EX_CONFIG;
	}
	sbuf_init(&err);
	rc = report_run(x->c, x->cs, x->now, t0, t1, stdout, html, &err);
	if (rc != 0)
		fprintf(stderr, "segelctl: report: %s\n", err.s);
	sbuf_free(&err);
	return rc == 0 ? 0 : 1;
}

static const struct {
	const char *name;
	int (*fn)(struct ctl *, int, char **);
} commands[] = {
	{ "list", cmd_list }, { "show", cmd_show }, { "import", cmd_import },
	{ "revoke", cmd_revoke }, { "expiring", cmd_expiring },
	{ "check", cmd_check }, { "audit", cmd_audit },
	{ "report", cmd_report },
};

int
main(int argc, char **argv)
{
	struct ctl x;
	size_t i;
	int ch, rc;

	memset(&x, 0, sizeof(x));
	x.conf_path = SEGEL_DEFAULT_CONF;
	umask(077);
	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		help();
	while ((ch = getopt(argc, argv, "+c:hV")) != -1) {
		switch (ch) {
		case 'c':
			x.conf_path = optarg;
			break;
		case 'V':
			printf("segelctl %s\n", SEGEL_VERSION);
			return 0;
		case 'h':
			help();
		default:
			usage(NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage("no command");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			rc = commands[i].fn(&x, argc, argv);
			ctl_free(&x);
			return rc;
		}
	}
	usage("unknown command");
}
