/*
 * segelctl_crl.c - segelctl crl update, and what segelctl check says about
 * revocation data.
 *
 *   segelctl crl update
 *
 * Fetches the CRL of every distribution point segel relies on into
 * pki.crl_dir (crlfetch.h), records the run in the audit log (event
 * "crl-update", result "ok" or "failed") and in crl_dir/.crl-update.status
 * (one line per URL, read by segelctl check), and makes a running daemon
 * reload when a CRL changed. Exit 0 when every URL was fetched or
 * unchanged, 1 when any failed or the daemon did not take the change, 78
 * when the configuration cannot be used. SEGELCTL_CRL_TIMEOUT (seconds)
 * bounds each fetch (default 15).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "crlfetch.h"
#include "segelctl.h"

/* Per-fetch timeout: SEGELCTL_CRL_TIMEOUT seconds, else the default. */
static long
crl_timeout_ms(void)
{
	const char *v = getenv("SEGELCTL_CRL_TIMEOUT");
	long s = v != NULL ? strtol(v, NULL, 10) : 0;

	return s > 0 && s <= 600 ? s * 1000 : CRLFETCH_TIMEOUT_MS;
}

/* Replaces crl_dir/.crl-update.status with the lines of this run. */
static void
crl_write_status(const char *dir, const char *lines)
{
	char *path = xasprintf("%s/%s", dir, CRLFETCH_STATUS);
	char *tmp = xasprintf("%s.new", path);
	FILE *fp;

	if ((fp = fopen(tmp, "w")) == NULL ||
	    fputs(lines, fp) == EOF || fclose(fp) != 0 ||
	    rename(tmp, path) != 0)
		fprintf(stderr, "segelctl: cannot write %s: %s\n", path,
		    strerror(errno));
	free(tmp);
	free(path);
}

/* One audit record for the run: the report counts failed runs. */
static void
crl_audit(const struct ctl *x, int nfail, const char *summary)
{
	if (ctl_audit(x, "crl-update", NULL, NULL, nfail > 0 ? "failed" : "ok",
	    summary, NULL) != 0)
		fprintf(stderr, "segelctl: the run is not in the audit log\n");
}

/* Fetches every URL; counts in n[CRL_UPDATED..CRL_FAILED]. */
static void
crl_fetch_all(const struct ctl *x, const struct crl_urls *u, int n[3],
    struct sbuf *status, struct sbuf *firstfail)
{
	enum crl_outcome o;
	struct sbuf msg;
	char stamp[32];
	size_t i;

	for (i = 0; i < u->n; i++) {
		sbuf_init(&msg);
		o = crlfetch_one(x->p, x->c->crl_dir, u->v[i], crl_timeout_ms(),
		    &msg);
		n[o]++;
		fprintf(o == CRL_FAILED ? stderr : stdout, "%s\n", msg.s);
		ctl_date(time(NULL), stamp, sizeof(stamp), F_STAMP);
		sbuf_printf(status, "%s\t%s\t%s\n", stamp, o == CRL_FAILED ?
		    "failed" : "ok", msg.s);
		if (o == CRL_FAILED && firstfail->len == 0)
			sbuf_adds(firstfail, msg.s);
		sbuf_free(&msg);
	}
}

static int
crl_update(struct ctl *x)
{
	struct sbuf status, firstfail;
	struct crl_urls u;
	char *summary;
	int n[3] = { 0, 0, 0 }, rc;

	ctl_load(x);
	if (x->c->crl_dir == NULL) {
		fprintf(stderr, "segelctl: %s: pki.crl_dir is not set: there "
		    "is nowhere to keep CRLs\n", x->conf_path);
		return EX_CONFIG;
	}
	crlfetch_collect(x->c, x->p, x->cs, &u);
	if (u.n == 0)
		printf("no CRL distribution point: no certificate names an "
		    "http(s) one and pki.crl_urls is empty\n");
	sbuf_init(&status);
	sbuf_init(&firstfail);
	crl_fetch_all(x, &u, n, &status, &firstfail);
	crl_write_status(x->c->crl_dir, status.s ? status.s : "");
	summary = xasprintf("%d updated, %d unchanged, %d failed%s%s",
	    n[CRL_UPDATED], n[CRL_UNCHANGED], n[CRL_FAILED],
	    firstfail.len ? "; first: " : "", firstfail.len ? firstfail.s : "");
	printf("crl update: %d updated, %d unchanged, %d failed\n",
	    n[CRL_UPDATED], n[CRL_UNCHANGED], n[CRL_FAILED]);
	crl_audit(x, n[CRL_FAILED], summary);
	rc = n[CRL_FAILED] > 0 ? 1 : 0;
	if (n[CRL_UPDATED] > 0 && ctl_reload(x) != 0)
		rc = 1;
	free(summary);
	sbuf_free(&status);
	sbuf_free(&firstfail);
	crlfetch_urls_free(&u);
	return rc;
}

int
cmd_crl(struct ctl *x, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "update") != 0)
		usage("crl update");
	return crl_update(x);
}

/* Warns about each failed URL of the last run (its status file). */
static void
crl_status_failures(const char *dir, struct diag *d)
{
	char *path = xasprintf("%s/%s", dir, CRLFETCH_STATUS);
	char line[4096], *tab;
	FILE *fp;

	if ((fp = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if ((tab = strchr(line, '\t')) == NULL ||
			    strncmp(tab + 1, "failed\t", 7) != 0)
				continue;
			*tab = '\0';
			diag_add(d, DIAG_WARNING, path, 0, "pki.crl_dir",
			    "segelctl crl update at %s: %s", line, tab + 8);
		}
		fclose(fp);
	}
	free(path);
}

/* Warns about each CRL of crl_dir past nextUpdate + pki.crl_grace. */
static void
crl_status_stale(const struct conf *c, const struct pki *p, struct diag *d)
{
	const ASN1_TIME *next;
	time_t limit = time(NULL) - p->crl_grace;
	char *iss;
	int i;

	for (i = 0; i < sk_X509_CRL_num(p->crls); i++) {
		next = X509_CRL_get0_nextUpdate(sk_X509_CRL_value(p->crls, i));
		if (next == NULL || X509_cmp_time(next, &limit) >= 0)
			continue;
		iss = pki_name_text(X509_CRL_get_issuer(
		    sk_X509_CRL_value(p->crls, i)));
		diag_add(d, DIAG_WARNING, c->crl_dir, 0, "pki.crl_grace",
		    "the CRL of %s is out of date beyond pki.crl_grace (%s): "
		    "certificates it covers are not used for signing (451) "
		    "and their signatures are smime=temperror until a current "
		    "CRL is fetched", iss, c->crl_grace_text);
		free(iss);
	}
}

void
crl_check_diag(const struct conf *c, const struct pki *p, struct diag *d)
{
	if (c == NULL || p == NULL || c->crl_dir == NULL)
		return;
	crl_status_failures(c->crl_dir, d);
	crl_status_stale(c, p, d);
}
