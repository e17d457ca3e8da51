/*
 * test_http.c - http.c's bounds, against tests/httpd.py on loopback: a
 * file fetched, a POST answered, 404 an error, an endless answer cut at
 * the cap, a hanging server cut at the timeout, a refused connection, a
 * redirect to file:// refused, and a scheme other than http(s) refused.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "testlib.h"

static char dir[] = "/tmp/segel-http.XXXXXX";
static pid_t srv;
static int port;

static void
setup(void)
{
	char *pf;
	FILE *fp;
	int i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	tl_write(dir, "crl.der", "CRL bytes\n");
	pf = tl_path(dir, "port");
	if ((srv = fork()) == 0) {
		execlp("python3", "python3", tl_path(tl_srcdir(),
		    "tests/httpd.py"), "--root", dir, "--port-file", pf,
		    (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200 && port == 0; i++) {
		if ((fp = fopen(pf, "r")) != NULL) {
			if (fscanf(fp, "%d", &port) != 1)
				port = 0;
			fclose(fp);
		}
		if (port == 0)
			usleep(50000);
	}
	ck_assert_msg(port > 0, "tests/httpd.py did not start");
}

static void
teardown(void)
{
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	tl_rmtree(dir);
}

/* Fetches URL (printf-style, %d the port) with the given bounds. */
static int
fetch(const char *path, long timeout_ms, size_t max, struct sbuf *out,
    long *status, struct sbuf *err)
{
	char url[512];
	struct http_req r = { url, NULL, NULL, 0, timeout_ms, max, NULL };

	if (strstr(path, "://") != NULL)
		snprintf(url, sizeof(url), "%s", path);
	else
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	return http_fetch(&r, out, status, err);
}

START_TEST(get_file)
{
	struct sbuf out, err;
	long st;

	sbuf_init(&out);
	sbuf_init(&err);
	ck_assert_int_eq(fetch("/crl.der", 5000, 0, &out, &st, &err), 0);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(out.s, "CRL bytes\n");
	ck_assert_uint_eq(err.len, 0);
	sbuf_free(&out);
	sbuf_free(&err);
}
END_TEST

START_TEST(post_echo)
{
	char url[128];
	struct http_req r = { url, "application/timestamp-query", "\x30\x03"
	    "abc", 5, 5000, 0, "application/timestamp-reply" };
	struct sbuf out, err;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
	sbuf_init(&out);
	sbuf_init(&err);
	ck_assert_int_eq(http_fetch(&r, &out, NULL, &err), 0);
	ck_assert_uint_eq(out.len, 5);
	ck_assert_mem_eq(out.s, "\x30\x03" "abc", 5);
	sbuf_free(&out);
	sbuf_free(&err);
}
END_TEST

START_TEST(not_found)
{
	struct sbuf out, err;
	long st;

	sbuf_init(&out);
	sbuf_init(&err);
	ck_assert_int_eq(fetch("/none.crl", 5000, 0, &out, &st, &err), -1);
	ck_assert_int_eq(st, 404);
	ck_assert_ptr_nonnull(strstr(err.s, "HTTP 404"));
	sbuf_free(&out);
	sbuf_free(&err);
}
END_TEST

START_TEST(endless_is_capped)
{
	struct sbuf out, err;

	sbuf_init(&out);
	sbuf_init(&err);
	ck_assert_int_eq(fetch("/endless", 10000, 100000, &out, NULL, &err),
	    -1);
	ck_assert_uint_le(out.len, 100000);
	ck_assert_ptr_nonnull(strstr(err.s, "larger than 100000 bytes"));
	sbuf_free(&out);
	sbuf_free(&err);
}
END_TEST

START_TEST(hang_times_out)
{
	struct sbuf out, err;
	time_t t0 = time(NULL);

	sbuf_init(&out);
	sbuf_init(&err);
	ck_assert_int_eq(fetch("/slow/crl.der", 1000, 0, &out, NULL, &err),
	    -1);
	ck_assert_int_le(time(NULL) - t0, 10);
	ck_assert_ptr_nonnull(strstr(err.s, "timed out after 1000 ms"));
	sbuf_free(&out);
	sbuf_free(&err);
}
END_TEST

START_TEST(refused)
{
	struct sbuf out, err;

	sbuf_init(&out);
	sbuf_init(&err);
	/* port 1 on loopback: nothing listens there, nobody may bind it */
	ck_assert_int_eq(fetch("http://127.0.0.1:1/x.crl", 2000, 0, &out, NULL,
	    &err), -1);
	ck_assert_uint_gt(err.len, 0);
	sbuf_free(&out);
	sbuf_free(&err);
}
END_TEST

START_TEST(redirect_to_file_refused)
{
	struct sbuf out, err;

	sbuf_init(&out);
	sbuf_init(&err);
	ck_assert_int_eq(fetch("/redirect?to=file:///etc/passwd", 5000, 0,
	    &out, NULL, &err), -1);
	ck_assert_ptr_null(strstr(out.s ? out.s : "", "root:"));
	ck_assert_uint_gt(err.len, 0);
	sbuf_free(&out);
	sbuf_free(&err);
}
END_TEST

START_TEST(scheme_refused)
{
	struct sbuf out, err;

	sbuf_init(&out);
	sbuf_init(&err);
	ck_assert_int_eq(fetch("file:///etc/passwd", 5000, 0, &out, NULL,
	    &err), -1);
	ck_assert_uint_eq(out.len, 0);
	sbuf_free(&out);
	sbuf_free(&err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("fetch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, get_file);
	tcase_add_test(tc, post_echo);
	tcase_add_test(tc, not_found);
	tcase_add_test(tc, endless_is_capped);
	tcase_add_test(tc, hang_times_out);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, redirect_to_file_refused);
	tcase_add_test(tc, scheme_refused);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
