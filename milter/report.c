/*
 * report.c - the six-monthly evaluation report from the audit log
 * (see report.h). Records are read from path.N ... path.1, path; those in
 * [since, until) are tallied; text goes to a FILE, and optionally an HTML
 * page with inline SVG bar charts (no scripts, no network, printable).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "archive_check.h"
#include "report.h"

#define REPORT_EXPIRY_DAYS	90
#define BAR_MAX			560	/* px of the longest bar */

struct tally {
	char **key;
	long *count;
	size_t n;
	long total;
};

struct rep {
	time_t since, until, now;
	const char *path;
	struct tally sender, unit, refusal, incoming;
	struct sbuf revocations, imports;	/* text lines */
	long n_revoked, n_imported, records;
	struct sbuf crl_failures;	/* failed segelctl crl update runs */
	long n_crl_runs, n_crl_failed;
};

static void
tally_add(struct tally *t, const char *key)
{
	size_t i;

	t->total++;
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->key[i], key) == 0) {
			t->count[i]++;
			return;
		}
	}
	t->key = xreallocarray(t->key, t->n + 1, sizeof(*t->key));
	t->count = xreallocarray(t->count, t->n + 1, sizeof(*t->count));
	t->key[t->n] = xstrdup(key);
	t->count[t->n++] = 1;
}

/* Largest count first, then by name. */
static void
tally_sort(struct tally *t)
{
	size_t i, j;
	char *k;
	long c;

	for (i = 1; i < t->n; i++) {
		for (j = i; j > 0 && (t->count[j] > t->count[j - 1] ||
		    (t->count[j] == t->count[j - 1] &&
		    strcmp(t->key[j], t->key[j - 1]) < 0)); j--) {
			k = t->key[j], t->key[j] = t->key[j - 1],
			    t->key[j - 1] = k;
			c = t->count[j], t->count[j] = t->count[j - 1],
			    t->count[j - 1] = c;
		}
	}
}

static void
tally_free(struct tally *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->key[i]);
	free(t->key);
	free(t->count);
}

time_t
report_parse_date(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL)
		return (time_t)-1;
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) != NULL &&
	    *end == '\0')
		return timegm(&tm);
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) != NULL && *end == '\0' &&
	    strlen(s) == 10)
		return timegm(&tm);
	return (time_t)-1;
}

static const char *
or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static void
rep_record(struct rep *r, const struct audit_entry *e)
{
	char *addr = e->sender ? addr_normalize(e->sender) : NULL;
	const char *who = addr ? addr : or_dash(e->sender);

	/* "check": mail its sender's client signed, checked by segel */
	if (strcmp(e->event, "sign") == 0 || strcmp(e->event, "check") == 0) {
		tally_add(&r->sender, who);
		tally_add(&r->unit, e->unit ? e->unit : "(unit unknown)");
	} else if (strcmp(e->event, "refuse") == 0) {
		tally_add(&r->refusal, e->reason ? e->reason :
		    or_dash(e->result));
	} else if (strcmp(e->event, "verify") == 0) {
		tally_add(&r->incoming, or_dash(e->result));
	} else if (strcmp(e->event, "revoke") == 0) {
		r->n_revoked++;
		sbuf_printf(&r->revocations, "%s  %s  serial %s  by %s: %s\n",
		    e->time, who, or_dash(e->cert_serial), or_dash(e->login),
		    or_dash(e->reason));
	} else if (strcmp(e->event, "crl-update") == 0) {
		r->n_crl_runs++;
		if (e->result != NULL && strcmp(e->result, "failed") == 0) {
			r->n_crl_failed++;
			sbuf_printf(&r->crl_failures, "%s  %s\n", e->time,
			    or_dash(e->reason));
		}
	} else if (strcmp(e->event, "import") == 0) {
		r->n_imported++;
		sbuf_printf(&r->imports, "%s  %s  serial %s  by %s\n", e->time,
		    who, or_dash(e->cert_serial), or_dash(e->login));
	}
	free(addr);
}

static int
rep_read_file(struct rep *r, const char *file, struct sbuf *err)
{
	struct audit_entry e;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	time_t t;
	FILE *fp;

	if ((fp = fopen(file, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		sbuf_printf(err, "%s: %s", file, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (audit_parse(line, (size_t)n, &e) != 0)
			continue;	/* "audit verify" names such lines */
		t = report_parse_date(e.time);
		if (e.event != NULL && t != (time_t)-1 && t >= r->since &&
		    t < r->until) {
			r->records++;
			rep_record(r, &e);
		}
		audit_entry_free(&e);
	}
	free(line);
	fclose(fp);
	return 0;
}

static int
rep_read(struct rep *r, struct sbuf *err)
{
	char *file;
	int i, rc = 0;

	for (i = audit_rotations(r->path); rc == 0 && i >= 0; i--) {
		file = i ? xasprintf("%s.%d", r->path, i) : xstrdup(r->path);
		rc = rep_read_file(r, file, err);
		free(file);
	}
	return rc;
}

static void
text_tally(FILE *out, const char *title, const char *unit,
    const struct tally *t)
{
	size_t i;
	int w = 0;

	fprintf(out, "%s: %ld\n", title, t->total);
	for (i = 0; i < t->n; i++)
		if ((int)strlen(t->key[i]) > w)
			w = (int)strlen(t->key[i]);
	for (i = 0; i < t->n; i++)
		fprintf(out, "  %-*s  %6ld %s\n", w, t->key[i], t->count[i],
		    unit);
	fputc('\n', out);
}

static void
day(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

/* The expiry section, as text lines "address  date  days  status". */
static long
rep_expiring(const struct rep *r, const struct certstore *cs,
    struct sbuf *b)
{
	const struct cert_entry *e;
	char d[16];
	size_t i;
	long n = 0;

	for (i = 0; (e = certstore_get(cs, i)) != NULL; i++) {
		if (e->cert == NULL || e->status == CERT_REVOKED ||
		    e->not_after - r->now > REPORT_EXPIRY_DAYS * 86400L)
			continue;
		day(e->not_after, d, sizeof(d));
		sbuf_printf(b, "%s  %s  %s\n", e->address, d,
		    e->not_after < r->now ? "expired" : "expiring");
		n++;
	}
	return n;
}

static void
rep_text(const struct rep *r, const char *expiring, long n_exp, FILE *out)
{
	char a[16], b[16], now[16];

	day(r->since, a, sizeof(a));
	day(r->until - 1, b, sizeof(b));
	day(r->now, now, sizeof(now));
	fprintf(out, "segel report %s .. %s (audit log %s, %ld records)\n\n",
	    a, b, r->path, r->records);
	text_tally(out, "Messages signed, per sender", "signed", &r->sender);
	text_tally(out, "Messages signed, per unit", "signed", &r->unit);
	text_tally(out, "Refusals, by reason", "refused", &r->refusal);
	text_tally(out, "Incoming signed mail, by result", "messages",
	    &r->incoming);
	fprintf(out, "Certificates expiring within %d days of %s: %ld\n%s\n",
	    REPORT_EXPIRY_DAYS, now, n_exp, expiring);
	fprintf(out, "Revocations: %ld\n%s\n", r->n_revoked,
	    r->revocations.s ? r->revocations.s : "");
	fprintf(out, "Imports: %ld\n%s", r->n_imported,
	    r->imports.s ? r->imports.s : "");
	fprintf(out, "\nCRL updates: %ld, failed: %ld\n%s", r->n_crl_runs,
	    r->n_crl_failed, r->crl_failures.s ? r->crl_failures.s : "");
}

static void
html_esc(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* One horizontal bar chart: label above each bar, count after it. */
static void
html_chart(FILE *f, const char *id, const char *title, const struct tally *t,
    const char *color)
{
	long max = 1;
	size_t i;
	int y, h = (int)t->n * 52 + 10, w;

	fprintf(f, "<section><h2>%s <span class=total>(%ld)</span></h2>\n",
	    title, t->total);
	if (t->n == 0) {
		fputs("<p class=none>none in this period</p></section>\n", f);
		return;
	}
	for (i = 0; i < t->n; i++)
		if (t->count[i] > max)
			max = t->count[i];
	fprintf(f, "<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"700\" height=\"%d\" role=\"img\">\n", id, h);
	for (i = 0; i < t->n; i++) {
		y = (int)i * 52 + 4;
		w = (int)((t->count[i] * BAR_MAX + max / 2) / max);
		if (w < 2)
			w = 2;
		fprintf(f, "<text x=\"0\" y=\"%d\" class=\"lbl\">", y + 15);
		html_esc(f, t->key[i]);
		fprintf(f, ": %ld</text>\n<rect class=\"bar\" x=\"0\" y=\"%d\" "
		    "width=\"%d\" height=\"22\" fill=\"%s\" data-value=\"%ld\" "
		    "data-label=\"", t->count[i], y + 22, w, color, t->count[i]);
		html_esc(f, t->key[i]);
		fprintf(f, "\"/>\n<text x=\"%d\" y=\"%d\" class=\"num\">%ld"
		    "</text>\n", w + 8, y + 40, t->count[i]);
	}
	fputs("</svg></section>\n", f);
}

static void
html_lines(FILE *f, const char *title, long n, const char *lines)
{
	const char *p = lines ? lines : "", *nl;
	char *one;

	fprintf(f, "<section><h2>%s <span class=total>(%ld)</span></h2>\n",
	    title, n);
	if (n == 0) {
		fputs("<p class=none>none</p></section>\n", f);
		return;
	}
	fputs("<ul>\n", f);
	for (; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		one = xstrndup(p, (size_t)(nl - p));
		fputs("<li>", f);
		html_esc(f, one);
		fputs("</li>\n", f);
		free(one);
	}
	fputs("</ul></section>\n", f);
}

static long
rep_count_lines(const char *s)
{
	long n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"id\"><head><meta charset=\"utf-8\">\n"
    "<title>Laporan segel / segel report</title>\n<style>\n"
    "body{font-family:sans-serif;margin:2em;color:#111;background:#fff}\n"
    "h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.5em}\n"
    ".total{color:#555;font-weight:normal}.none{color:#777}\n"
    "svg .lbl{font-size:15px;fill:#222}svg .num{font-size:18px;"
    "font-weight:bold;fill:#111}\n"
    "section{page-break-inside:avoid}\n"
    "@media print{body{margin:1cm}}\n</style></head><body>\n";

static int
rep_html(const struct rep *r, const char *expiring, long n_exp,
    const struct sbuf *archive, const char *path, struct sbuf *err)
{
	char a[16], b[16], now[16];
	FILE *f;

	if ((f = fopen(path, "w")) == NULL) {
		sbuf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	day(r->since, a, sizeof(a));
	day(r->until - 1, b, sizeof(b));
	day(r->now, now, sizeof(now));
	fputs(html_head, f);
	fprintf(f, "<h1>Evaluasi tanda tangan elektronik / signing report "
	    "%s &ndash; %s</h1>\n<p>Audit log: ", a, b);
	html_esc(f, r->path);
	fprintf(f, " &middot; %ld records &middot; generated %s</p>\n",
	    r->records, now);
	html_chart(f, "signed-sender", "Messages signed per sender",
	    &r->sender, "#1f6fb2");
	html_chart(f, "signed-unit", "Messages signed per unit", &r->unit,
	    "#2e8b57");
	html_chart(f, "refusals", "Refusals by reason", &r->refusal,
	    "#c0392b");
	html_chart(f, "incoming", "Incoming signed mail by result",
	    &r->incoming, "#8e44ad");
	html_lines(f, "Certificates expiring within 90 days", n_exp, expiring);
	html_lines(f, "Revocations", r->n_revoked, r->revocations.s);
	html_lines(f, "Imports", r->n_imported, r->imports.s);
	if (archive->s != NULL)
		html_lines(f, "Archive (Pasal 12): state against the audit "
		    "records, and files to look at", rep_count_lines(archive->s),
		    archive->s);
	html_lines(f, "Failed CRL updates", r->n_crl_failed, r->crl_failures.s);
	fputs("</body></html>\n", f);
	if (fclose(f) != 0) {
		sbuf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The archive's state against the audit records (issue 13): its summary
 * line, then one line per file that is altered, missing or in no record.
 * Nothing when no archive is kept. Signatures are left to `segelctl archive
 * verify`, which needs the trust store.
 */
static void
rep_archive(const struct conf *c, struct sbuf *out)
{
	struct archive_state st;
	struct sbuf lines, err;

	if (c->archive_dir == NULL || c->audit_file == NULL)
		return;
	sbuf_init(&lines);
	sbuf_init(&err);
	if (archive_check(c, NULL, false, &st, &lines, &err) != 0) {
		sbuf_printf(out, "archive %s NOT CHECKED: %s\n", c->archive_dir,
		    err.s);
	} else {
		archive_state_line(c->archive_dir, &st, out);
		sbuf_printf(out, "\n%s", lines.s ? lines.s : "");
	}
	sbuf_free(&lines);
	sbuf_free(&err);
}

int
report_run(const struct conf *c, const struct certstore *cs, time_t now,
    time_t since, time_t until, FILE *out, const char *html,
    struct sbuf *err)
{
	struct sbuf exp, arch;
	struct rep r;
	long n_exp;
	int rc = -1;

	sbuf_init(&arch);
	memset(&r, 0, sizeof(r));
	r.since = since;
	r.until = until;
	r.now = now;
	r.path = c->audit_file;
	sbuf_init(&exp);
	sbuf_add(&exp, "", 0);
	if (rep_read(&r, err) != 0)
		goto out;
	tally_sort(&r.sender);
	tally_sort(&r.unit);
	tally_sort(&r.refusal);
	tally_sort(&r.incoming);
	n_exp = rep_expiring(&r, cs, &exp);
	rep_text(&r, exp.s, n_exp, out);
	rep_archive(c, &arch);
	if (arch.s != NULL)
		fprintf(out, "\nArchive:\n%s", arch.s);
	if (html != NULL && rep_html(&r, exp.s, n_exp, &arch, html, err) != 0)
		goto out;
	rc = 0;
out:
	tally_free(&r.sender);
	tally_free(&r.unit);
	tally_free(&r.refusal);
	tally_free(&r.incoming);
	sbuf_free(&r.revocations);
	sbuf_free(&r.imports);
	sbuf_free(&r.crl_failures);
	sbuf_free(&exp);
	sbuf_free(&arch);
	return rc;
}
