/*
 * test_storeadmin.c - storeadmin_await_reload: how segelctl learns whether
 * a running segel-milter took a change (issue 17). The daemon's reload
 * records are written with audit_write as segel-milter writes them; each
 * case says where segelctl starts reading and what it must conclude.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "storeadmin.h"
#include "testlib.h"
#include "util.h"

static char tmpdir[] = "/tmp/segel-storeadmin.XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	tl_rmtree(tmpdir);
}

/* Appends {"event":"reload","result":result,"reason":"pid PID: text"}. */
static void
reload_rec(const char *log, long pid, const char *result, const char *text)
{
	char *why = xasprintf("pid %ld: %s", pid, text);
	struct audit_rec r = { "reload", NULL, NULL, "daemon", NULL, NULL,
	    NULL, result, why, NULL, NULL };
	struct audit_rec other = { "sign", "Q1", "<m@x>", "outbound",
	    "alice@tanjungpinangkota.go.id", "alice@tanjungpinangkota.go.id",
	    "01", "signed", NULL, "127.0.0.1", NULL };
	struct sbuf err;
	struct audit *a;

	sbuf_init(&err);
	a = audit_open(log, &err);
	ck_assert_msg(a != NULL, "%s", err.s);
	ck_assert_int_eq(audit_write(a, &other), 0);	/* mail in between */
	ck_assert_int_eq(audit_write(a, &r), 0);
	audit_close(a);
	sbuf_free(&err);
	free(why);
}

static off_t
size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* A pid no process has: a child that has exited and been reaped. */
static pid_t
dead_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
}

START_TEST(loaded_after_offset)
{
	char *log = xasprintf("%s/a.log", tmpdir);
	struct sbuf why;
	off_t off;

	reload_rec(log, (long)getpid(), "loaded", "old, before the change");
	off = size_of(log);
	reload_rec(log, 999999, "failed", "another daemon");
	reload_rec(log, (long)getpid(), "loaded", "3 certificate(s)");
	sbuf_init(&why);
	ck_assert_int_eq(storeadmin_await_reload(log, off, getpid(), 1000,
	    &why), 0);
	ck_assert_str_eq(why.s, "3 certificate(s)");
	sbuf_free(&why);
	free(log);
}
END_TEST

START_TEST(failed_names_the_cause)
{
	char *log = xasprintf("%s/b.log", tmpdir);
	struct sbuf why;
	off_t off;

	reload_rec(log, (long)getpid(), "loaded", "before");
	off = size_of(log);
	reload_rec(log, (long)getpid(), "failed",
	    "/etc/segel/segel.conf: cannot read: Permission denied");
	sbuf_init(&why);
	ck_assert_int_eq(storeadmin_await_reload(log, off, getpid(), 1000,
	    &why), 1);
	ck_assert_str_eq(why.s,
	    "/etc/segel/segel.conf: cannot read: Permission denied");
	sbuf_free(&why);
	free(log);
}
END_TEST

/* A record from before the signal is not an answer: no answer, timeout. */
START_TEST(old_record_is_no_answer)
{
	char *log = xasprintf("%s/c.log", tmpdir);
	struct sbuf why;

	reload_rec(log, (long)getpid(), "loaded", "before");
	sbuf_init(&why);
	ck_assert_int_eq(storeadmin_await_reload(log, size_of(log), getpid(),
	    300, &why), -1);
	ck_assert_ptr_nonnull(strstr(why.s, "no reload record within"));
	sbuf_free(&why);
	free(log);
}
END_TEST

START_TEST(daemon_gone)
{
	char *log = xasprintf("%s/d.log", tmpdir);
	struct sbuf why;

	reload_rec(log, 1, "loaded", "x");
	sbuf_init(&why);
	ck_assert_int_eq(storeadmin_await_reload(log, size_of(log),
	    dead_pid(), 5000, &why), -1);
	ck_assert_str_eq(why.s, "the daemon exited");
	sbuf_free(&why);
	free(log);
}
END_TEST

/* Rotated while waiting: the offset is past the new file's end. */
START_TEST(rotated_file_read_from_start)
{
	char *log = xasprintf("%s/e.log", tmpdir);
	struct sbuf why;

	reload_rec(log, (long)getpid(), "loaded", "after rotation");
	sbuf_init(&why);
	ck_assert_int_eq(storeadmin_await_reload(log, size_of(log) + 100000,
	    getpid(), 1000, &why), 0);
	ck_assert_str_eq(why.s, "after rotation");
	sbuf_free(&why);
	free(log);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("storeadmin");
	TCase *tc = tcase_create("await_reload");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, loaded_after_offset);
	tcase_add_test(tc, failed_names_the_cause);
	tcase_add_test(tc, old_record_is_no_answer);
	tcase_add_test(tc, daemon_gone);
	tcase_add_test(tc, rotated_file_read_from_start);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
