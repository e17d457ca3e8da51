/*
 * segelctl_change.c - the commands that change the store: import, revoke.
 * Each is written to the audit log with role "admin" and makes a running
 * segel-milter reload; segelctl waits for the daemon's reload record.
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
int
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
int
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

int
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

/* Pasal 18(4): the owner and the officer are told (notice.h). */
static int
revoke_notice(const struct ctl *x, const struct cert_entry *e,
    const char *reason)
{
	struct sbuf err;
	int rc;

	sbuf_init(&err);
	if ((rc = notice_revoked(x->c, x->cs, e, reason, x->now, &err)) != 0)
		fprintf(stderr, "segelctl: revoked, but the notice to %s could "
		    "not be sent: %s\n", e->address, err.s);
	else
		printf("notice sent to %s%s%s\n", e->address,
		    x->c->officer ? ", copy to " : "",
		    x->c->officer ? x->c->officer : "");
	sbuf_free(&err);
	return rc;
}

int
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
		if (revoke_notice(x, e, reason) != 0)
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
