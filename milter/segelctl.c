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
#include "segelctl.h"
#include "util.h"

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
    "  expiring [--days N] [--notify]    exit 1 when any expires within N "
    "days\n"
    "                                    (default 30); --notify: mail the\n"
    "                                    owners and the officer "
    "(lifecycle);\n"
    "                                    exit 1 only when a notice failed\n"
    "  check                             as segel-milter -n\n"
    "  audit verify [--anchor HEAD]      check the audit log's chain "
    "(and that\n"
    "                                    a head noted earlier is in it),\n"
    "                                    its RFC 3161 stamps, the first stamp\n"
    "                                    covering each archived message\n"
    "  audit stamp                       an RFC 3161 token over the chain's "
    "head\n"
    "                                    from audit.tsa_url (hourly timer)\n"
    "  archive verify [--all]            archive files against the audit "
    "records:\n"
    "                                    altered, missing, in no record;\n"
    "                                    signatures valid when made\n"
    "  report --since DATE [--until DATE] [--html FILE]\n"
    "  crl update                        fetch the CRLs into pki.crl_dir\n"
    "revoke mails the owner and the officer.\n"
    "import and revoke make a running segel-milter of FILE reload and wait "
    "for its\n"
    "answer (SEGELCTL_RELOAD_WAIT seconds, default 15): exit 1 when it did "
    "not\n"
    "take the change.\n";

void __attribute__((noreturn))
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
void
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
	if (rt != NULL)
		crl_check_diag(rt->conf, rt->pki, &d);
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

	if (argc >= 2 && strcmp(argv[1], "stamp") == 0)
		return cmd_audit_sub(x, argc, argv);
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
	if (ctl_audit_stamps(x) != 0)
		rc = 1;
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
	{ "crl", cmd_crl },
	{ "archive", cmd_archive },
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
