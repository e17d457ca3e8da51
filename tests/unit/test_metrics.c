/*
 * test_metrics.c - the counters and the file of metrics.c: each decision
 * under the right labels, label values escaped as the text format wants,
 * a bounded number of label sets, the histogram's buckets, and the atomic
 * write (the file or nothing, never a temporary left behind). The gauges
 * and promtool's judgement are in tests/e2e/t_metrics.sh.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "testlib.h"

/* The text metrics_format writes without a generation. */
static char *
text(void)
{
	struct sbuf b;

	sbuf_init(&b);
	metrics_format(&b, NULL, 1796292000);
	return sbuf_steal(&b);
}

/* True when line (whole) is in t. */
static bool
has_line(const char *t, const char *line)
{
	size_t n = strlen(line);
	const char *p = t;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == t || p[-1] == '\n') && p[n] == '\n')
			return true;
		p += n;
	}
	return false;
}

START_TEST(decisions_counted)
{
	char *t;

	metrics_reset();
	metrics_decision("outbound", "signed", NULL);
	metrics_decision("outbound", "signed", NULL);
	metrics_decision("internal", "signed", "pass");
	metrics_decision("inbound", "verified", "fail");
	metrics_decision("inbound", "passed (unsigned)", NULL);
	metrics_decision("outbound", "passed unsigned (certificate expired, "
	    "on_no_cert=accept)", NULL);
	metrics_decision("outbound", "refused: login may not send as From", NULL);
	metrics_decision("inbound", "refused: unsigned mail from own domain",
	    "none");
	metrics_decision("inbound", "tempfail: modification failed", NULL);
	metrics_decision("inbound", "accepted after error: spool failed", NULL);
	metrics_decision("inbound", "something new", NULL);
	metrics_refused("inbound", "plaintext");
	t = text();
	ck_assert(has_line(t, "# TYPE segel_messages_total counter"));
	ck_assert(has_line(t, "segel_messages_total{role=\"outbound\",action=\"signed\"} 2"));
	ck_assert(has_line(t, "segel_messages_total{role=\"internal\",action=\"signed\"} 1"));
	ck_assert(has_line(t, "segel_messages_total{role=\"inbound\",action=\"verified\"} 1"));
	ck_assert(has_line(t, "segel_messages_total{role=\"inbound\",action=\"passed\"} 1"));
	ck_assert(has_line(t, "segel_messages_total{role=\"outbound\",action=\"passed_unsigned\"} 1"));
	ck_assert(has_line(t, "segel_messages_total{role=\"inbound\",action=\"refused\"} 2"));
	ck_assert(has_line(t, "segel_messages_total{role=\"inbound\",action=\"tempfail\"} 1"));
	ck_assert(has_line(t, "segel_messages_total{role=\"inbound\",action=\"accepted_after_error\"} 1"));
	ck_assert(has_line(t, "segel_messages_total{role=\"inbound\",action=\"other\"} 1"));
	/* segel's own result on internal mail is not a verification */
	ck_assert(has_line(t, "segel_verify_results_total{result=\"fail\"} 1"));
	ck_assert(has_line(t, "segel_verify_results_total{result=\"none\"} 1"));
	ck_assert(strstr(t, "result=\"pass\"") == NULL);
	ck_assert(has_line(t, "segel_refusals_total{reason=\"plaintext\"} 1"));
	ck_assert(has_line(t, "segel_refusals_total{reason=\"login may not send as From\"} 1"));
	ck_assert(has_line(t, "segel_refusals_total{reason=\"unsigned mail from own domain\"} 1"));
	ck_assert(has_line(t, "segel_refusals_total{reason=\"modification failed\"} 1"));
	free(t);
}
END_TEST

/* Quote, backslash and a line end cannot break the line or the label. */
START_TEST(labels_escaped)
{
	char *t;

	metrics_reset();
	metrics_refused("inbound", "a \"b\" c\\d\ne");
	t = text();
	ck_assert(has_line(t, "segel_refusals_total{reason=\"a \\\"b\\\" c\\\\d?e\"} 1"));
	free(t);
}
END_TEST

/* However many reasons, the family holds a bounded number of series. */
START_TEST(series_bounded)
{
	char reason[32], *t, *p;
	int i, n = 0;

	metrics_reset();
	for (i = 0; i < 200; i++) {
		snprintf(reason, sizeof(reason), "reason %d", i);
		metrics_refused("inbound", reason);
	}
	t = text();
	for (p = t; (p = strstr(p, "\nsegel_refusals_total{")) != NULL; p++)
		n++;
	ck_assert_int_eq(n, 64);
	ck_assert(has_line(t, "segel_refusals_total{other=\"true\"} 137"));
	free(t);
}
END_TEST

/* Buckets are cumulative: 3 ms is in every bucket from 5 ms on. */
START_TEST(histogram)
{
	char *t;

	metrics_reset();
	metrics_signed(metrics_clock() - 0.003);
	metrics_signed(metrics_clock() - 0.3);
	t = text();
	ck_assert(has_line(t, "# TYPE segel_sign_duration_seconds histogram"));
	ck_assert(has_line(t, "segel_sign_duration_seconds_bucket{le=\"0.005\"} 1"));
	ck_assert(has_line(t, "segel_sign_duration_seconds_bucket{le=\"0.25\"} 1"));
	ck_assert(has_line(t, "segel_sign_duration_seconds_bucket{le=\"0.5\"} 2"));
	ck_assert(has_line(t, "segel_sign_duration_seconds_bucket{le=\"+Inf\"} 2"));
	ck_assert(has_line(t, "segel_sign_duration_seconds_count 2"));
	free(t);
}
END_TEST

/* The file is the formatted text, 0644, and nothing else is left. */
START_TEST(write_atomic)
{
	char dir[] = "/tmp/segel-metrics.XXXXXX", *path, *got, *want;
	struct sbuf err;
	struct stat st;
	struct dirent *de;
	DIR *d;
	size_t len;
	int n = 0;

	ck_assert(mkdtemp(dir) != NULL);
	path = tl_path(dir, "segel.prom");
	metrics_reset();
	metrics_decision("outbound", "signed", NULL);
	sbuf_init(&err);
	ck_assert_int_eq(metrics_write(path, NULL, 1796292000, &err), 0);
	got = tl_slurp(path, &len);
	want = text();
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	ck_assert((d = opendir(dir)) != NULL);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(n, 1);
	/* a folder that is not there: an error with the path, no file */
	ck_assert_int_eq(metrics_write(tl_path(dir, "none/segel.prom"), NULL,
	    0, &err), -1);
	ck_assert(err.s != NULL && strstr(err.s, "none/segel.prom") != NULL);
	sbuf_free(&err);
	free(got);
	free(want);
	tl_rmtree(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, decisions_counted);
	tcase_add_test(tc, labels_escaped);
	tcase_add_test(tc, series_bounded);
	tcase_add_test(tc, histogram);
	tcase_add_test(tc, write_atomic);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
