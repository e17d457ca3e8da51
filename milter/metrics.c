/*
 * metrics.c - counters of the gateway's decisions and the Prometheus text
 * file that node_exporter's textfile collector reads (metrics.file).
 *
 * Counters live in this process, under one mutex: every label value comes
 * from a fixed set of words in segel's own code (roles, actions, results,
 * refusal reasons), so the tables are small and bounded; a label set that
 * does not fit any more is counted under "other". The gauges (certificates,
 * CRLs, audit chain) are read from the current generation when the file is
 * written. Names follow Prometheus' conventions (base units: seconds, so
 * "days left" is segel_certificate_expiry_seconds; counters end in _total),
 * which `promtool check metrics` enforces.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "certstore.h"
#include "log.h"
#include "metrics.h"

#define M_SERIES	64	/* label sets per counter family */
#define M_LABELS	160	/* bytes of one label set, formatted */

struct series {
	char labels[M_LABELS];	/* role="outbound",action="signed" */
	unsigned long long n;
};

struct family {
	const char *name, *help;
	struct series s[M_SERIES];
	size_t n;
};

static struct family fam_msgs = { "segel_messages_total",
    "Messages decided by segel, by role (outbound, inbound, internal) "
    "and action.", { { "", 0 } }, 0 };
static struct family fam_results = { "segel_verify_results_total",
    "S/MIME verification results of inbound mail (RFC 7281 smime=).",
    { { "", 0 } }, 0 };
static struct family fam_refusals = { "segel_refusals_total",
    "Refusals and tempfails by reason.", { { "", 0 } }, 0 };

/* Signing time buckets, seconds: a file key signs in milliseconds, a
 * token or a large message in up to seconds. */
static const double sign_le[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1, 2.5, 5, 10 };
#define N_LE	(sizeof(sign_le) / sizeof(sign_le[0]))
static unsigned long long sign_bucket[N_LE];
static unsigned long long sign_count;
static double sign_sum;

/* Audit chain: records counted so far in which file, up to which offset,
 * so that each write reads only what was appended since the last. */
static struct {
	dev_t dev;
	ino_t ino;
	off_t off;
	unsigned long long records;
} audit_seen;

static time_t start_time;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* apart from mu: reading a long audit log must not hold up the counters */
static pthread_mutex_t audit_mu = PTHREAD_MUTEX_INITIALIZER;

/* Copies s into a label value: printable ASCII, \ " escaped, bounded. */
static void
label_value(char *out, size_t n, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 3 < n; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\\' || ch == '"')
			out[o++] = '\\';
		out[o++] = ch < 0x20 || ch > 0x7e ? '?' : (char)ch;
	}
	out[o] = '\0';
}

/* Adds one to the series labels of f (lock held). */
static void
family_inc(struct family *f, const char *labels)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->s[i].labels, labels) == 0) {
			f->s[i].n++;
			return;
		}
	/* the last slot is kept for everything that does not fit */
	if (f->n >= M_SERIES - 1 && strcmp(labels, "other=\"true\"") != 0) {
		family_inc(f, "other=\"true\"");
		return;
	}
	if (f->n == M_SERIES)
		return;
	snprintf(f->s[f->n].labels, M_LABELS, "%s", labels);
	f->s[f->n++].n = 1;
}

/* Counts one in f under n1=v1[,n2=v2] (names are short words of ours,
 * values at most 63 bytes: the set fits M_LABELS). */
static void
count2(struct family *f, const char *n1, const char *v1, const char *n2,
    const char *v2)
{
	char a[64], b[64], *labels;

	label_value(a, sizeof(a), v1);
	label_value(b, sizeof(b), v2);
	if (n2 != NULL)
		labels = xasprintf("%s=\"%s\",%s=\"%s\"", n1, a, n2, b);
	else
		labels = xasprintf("%s=\"%s\"", n1, a);
	pthread_mutex_lock(&mu);
	family_inc(f, labels);
	pthread_mutex_unlock(&mu);
	free(labels);
}

/* The action label: the log's action text reduced to one fixed word. */
static const char *
action_label(const char *action)
{
	static const struct { const char *prefix, *label; } map[] = {
		{ "signed", "signed" },
		{ "verified", "verified" },
		{ "passed unsigned", "passed_unsigned" },
		{ "passed", "passed" },
		{ "refused", "refused" },
		{ "accepted after error", "accepted_after_error" },
		{ "tempfail", "tempfail" },
	};
	size_t i;

	for (i = 0; action != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(action, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].label;
	return "other";
}

void
metrics_decision(const char *role, const char *action, const char *result)
{
	const char *a = action_label(action);

	count2(&fam_msgs, "role", role ? role : "unknown", "action", a);
	/* internal mail carries segel's own result of its own signature */
	if (result != NULL && role != NULL && strcmp(role, "internal") != 0)
		count2(&fam_results, "result", result, NULL, NULL);
	if (strcmp(a, "refused") == 0)
		count2(&fam_refusals, "reason", action + strlen("refused: "),
		    NULL, NULL);
	else if (strcmp(a, "tempfail") == 0 && strlen(action) > 10)
		count2(&fam_refusals, "reason", action + strlen("tempfail: "),
		    NULL, NULL);
}

void
metrics_refused(const char *role, const char *reason)
{
	count2(&fam_msgs, "role", role ? role : "unknown", "action", "refused");
	count2(&fam_refusals, "reason", reason, NULL, NULL);
}

double
metrics_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
metrics_signed(double t0)
{
	double d = metrics_clock() - t0;
	size_t i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < N_LE; i++)
		if (d <= sign_le[i])
			sign_bucket[i]++;
	sign_count++;
	sign_sum += d;
	pthread_mutex_unlock(&mu);
}

void
metrics_reset(void)
{
	pthread_mutex_lock(&mu);
	fam_msgs.n = fam_results.n = fam_refusals.n = 0;
	memset(sign_bucket, 0, sizeof(sign_bucket));
	sign_count = 0;
	sign_sum = 0;
	pthread_mutex_unlock(&mu);
	pthread_mutex_lock(&audit_mu);
	memset(&audit_seen, 0, sizeof(audit_seen));
	pthread_mutex_unlock(&audit_mu);
}

/* # HELP and # TYPE lines of one metric. */
static void
head(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter family (lock held); a family never counted is left out. */
static void
format_family(struct sbuf *b, const struct family *f)
{
	size_t i;

	if (f->n == 0)
		return;
	head(b, f->name, "counter", f->help);
	for (i = 0; i < f->n; i++)
		sbuf_printf(b, "%s{%s} %llu\n", f->name, f->s[i].labels,
		    f->s[i].n);
}

/* The signing latency histogram (lock held). */
static void
format_histogram(struct sbuf *b)
{
	const char *n = "segel_sign_duration_seconds";
	size_t i;

	head(b, n, "histogram", "Time to make one S/MIME signature "
	    "(the body as prepared, the key's operation included).");
	for (i = 0; i < N_LE; i++)
		sbuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", n, sign_le[i],
		    sign_bucket[i]);
	sbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", n, sign_count);
	sbuf_printf(b, "%s_sum %.6f\n%s_count %llu\n", n, sign_sum, n,
	    sign_count);
}

/* Seconds left of each store certificate (negative: expired), and how
 * many certificates the store holds in each state. */
static void
format_certs(struct sbuf *b, const struct certstore *st, time_t now)
{
	const struct cert_entry *e;
	char addr[128], serial[80], status[32];
	size_t i, n = st ? certstore_count(st) : 0;

	head(b, "segel_certificate_expiry_seconds", "gauge", "Seconds until "
	    "each store certificate expires (notAfter - now; negative when "
	    "expired; divide by 86400 for days).");
	for (i = 0; i < n; i++) {
		e = certstore_get(st, i);
		if (e->not_after == 0)
			continue;	/* unreadable: no date to tell */
		label_value(addr, sizeof(addr), e->address);
		label_value(serial, sizeof(serial), e->serial_hex);
		/* the entry's status leaves out the dates: add them */
		label_value(status, sizeof(status), cert_status_name(
		    e->status != CERT_OK ? e->status : now > e->not_after ?
		    CERT_EXPIRED : now < e->not_before ? CERT_NOT_YET_VALID :
		    CERT_OK));
		sbuf_printf(b, "segel_certificate_expiry_seconds{address=\"%s\","
		    "serial=\"%s\",status=\"%s\"} %lld\n", addr, serial, status,
		    (long long)(e->not_after - now));
	}
	head(b, "segel_certificates", "gauge", "Certificates in the store.");
	sbuf_printf(b, "segel_certificates %zu\n", n);
}

/* ASN1_TIME as a time_t; 0 when absent or unreadable. */
static time_t
asn1_time_t(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* True when CRL i of crls is its issuer's newest (thisUpdate; the first
 * of equals). */
static bool
crl_newest(STACK_OF(X509_CRL) *crls, int i)
{
	X509_CRL *c = sk_X509_CRL_value(crls, i), *o;
	time_t last = asn1_time_t(X509_CRL_get0_lastUpdate(c)), ol;
	int j;

	for (j = 0; j < sk_X509_CRL_num(crls); j++) {
		o = sk_X509_CRL_value(crls, j);
		if (j == i || X509_NAME_cmp(X509_CRL_get_issuer(o),
		    X509_CRL_get_issuer(c)) != 0)
			continue;
		ol = asn1_time_t(X509_CRL_get0_lastUpdate(o));
		if (ol > last || (ol == last && j < i))
			return false;
	}
	return true;
}

/* One sample per issuer of the newest CRLs: its age (what = 0) or its
 * nextUpdate (what = 1, left out when the CRL has none). */
static void
crl_samples(struct sbuf *b, STACK_OF(X509_CRL) *crls, time_t now, int what)
{
	const char *name = what == 0 ? "segel_crl_age_seconds" :
	    "segel_crl_next_update_timestamp_seconds";
	char *iss, esc[256];
	X509_CRL *c;
	time_t t;
	int i;

	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		if (!crl_newest(crls, i))
			continue;
		c = sk_X509_CRL_value(crls, i);
		t = what == 0 ? now - asn1_time_t(X509_CRL_get0_lastUpdate(c)) :
		    asn1_time_t(X509_CRL_get0_nextUpdate(c));
		if (what == 1 && t == 0)
			continue;
		iss = certstore_name_rfc2253(X509_CRL_get_issuer(c));
		label_value(esc, sizeof(esc), iss);
		free(iss);
		sbuf_printf(b, "%s{issuer=\"%s\"} %lld\n", name, esc,
		    (long long)t);
	}
}

/* Age of the newest CRL of each issuer, and that CRL's nextUpdate: the
 * samples of one metric stay together, as the text format demands. */
static void
format_crls(struct sbuf *b, const struct pki *p, time_t now)
{
	if (p == NULL || p->crls == NULL || sk_X509_CRL_num(p->crls) == 0)
		return;
	head(b, "segel_crl_age_seconds", "gauge", "Seconds since thisUpdate "
	    "of the newest CRL of each issuer in pki.crl_dir.");
	crl_samples(b, p->crls, now, 0);
	head(b, "segel_crl_next_update_timestamp_seconds", "gauge",
	    "nextUpdate of that CRL (Unix time): past it, the CRL is stale.");
	crl_samples(b, p->crls, now, 1);
}

/* Counts the audit file's records (lines), reading only what was
 * appended since the last call; starts over when the file was replaced
 * (rotation) or shortened. -1 when it cannot be read. audit_mu held. */
static long long
audit_records(const char *path)
{
	char buf[65536];
	struct stat st;
	ssize_t r, i;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	if (st.st_dev != audit_seen.dev || st.st_ino != audit_seen.ino ||
	    st.st_size < audit_seen.off) {
		audit_seen.dev = st.st_dev;
		audit_seen.ino = st.st_ino;
		audit_seen.off = 0;
		audit_seen.records = 0;
	}
	while ((r = pread(fd, buf, sizeof(buf), audit_seen.off)) > 0) {
		for (i = 0; i < r; i++)
			if (buf[i] == '\n')
				audit_seen.records++;
		audit_seen.off += r;
	}
	close(fd);
	return (long long)audit_seen.records;
}

void
metrics_format(struct sbuf *b, const struct runtime *rt, time_t now)
{
	long long n;

	pthread_mutex_lock(&mu);
	if (start_time == 0)
		start_time = now;
	head(b, "segel_start_time_seconds", "gauge", "When this segel-milter "
	    "process started counting (counters restart at zero then).");
	sbuf_printf(b, "segel_start_time_seconds %lld\n", (long long)start_time);
	format_family(b, &fam_msgs);
	format_family(b, &fam_results);
	format_family(b, &fam_refusals);
	format_histogram(b);
	pthread_mutex_unlock(&mu);
	if (rt == NULL)
		return;
	pthread_mutex_lock(&audit_mu);
	n = rt->conf->audit_file ? audit_records(rt->conf->audit_file) : -1;
	pthread_mutex_unlock(&audit_mu);
	if (n >= 0) {
		head(b, "segel_audit_records", "gauge", "Records in the "
		    "hash-chained audit log (audit.file), the current file.");
		sbuf_printf(b, "segel_audit_records %lld\n", n);
	}
	format_certs(b, rt->store, now);
	format_crls(b, rt->pki, now);
}

int
metrics_write(const char *path, const struct runtime *rt, time_t now,
    struct sbuf *err)
{
	struct sbuf b;
	char *tmp = xasprintf("%s.XXXXXX", path);
	size_t off = 0;
	ssize_t w;
	int fd, rc = -1;

	sbuf_init(&b);
	metrics_format(&b, rt, now);
	/* not *.prom: the collector never reads the file being written */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		sbuf_printf(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < b.len && (w = write(fd, b.s + off, b.len - off)) > 0)
		off += (size_t)w;
	if (off != b.len || fchmod(fd, 0644) != 0) {
		sbuf_printf(err, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		sbuf_printf(err, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	sbuf_free(&b);
	return rc;
}

/* Writes the current generation's file; logs a failure once until a write
 * succeeds again. Returns metrics.interval, or 0 when metrics are off. */
static size_t
write_current(void)
{
	static bool failing;
	struct runtime *rt = runtime_get();
	struct sbuf err;
	size_t every = 0;

	if (rt == NULL || rt->conf->metrics_file == NULL) {
		runtime_put(rt);
		return 0;
	}
	sbuf_init(&err);
	if (metrics_write(rt->conf->metrics_file, rt, time(NULL), &err) != 0) {
		if (!failing)
			log_msg(LOG_WARNING, "metrics.file: cannot write: %s",
			    err.s ? err.s : "?");
		failing = true;
	} else
		failing = false;
	every = rt->conf->metrics_interval;
	sbuf_free(&err);
	runtime_put(rt);
	return every;
}

/* Every second: is a write due? (A reload may change file and interval.) */
static void *
metrics_thread(void *arg)
{
	double next = 0;
	size_t every;

	(void)arg;
	for (;;) {
		if (metrics_clock() >= next) {
			every = write_current();
			next = metrics_clock() + (double)(every ? every : 1);
		}
		sleep(1);
	}
	return NULL;
}

int
metrics_start(void)
{
	pthread_t tid;

	pthread_mutex_lock(&mu);
	if (start_time == 0)
		start_time = time(NULL);
	pthread_mutex_unlock(&mu);
	if (pthread_create(&tid, NULL, metrics_thread, NULL) != 0)
		return -1;
	pthread_detach(tid);
	return 0;
}

void
metrics_flush(void)
{
	(void)write_current();
}
