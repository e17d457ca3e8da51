/*
 * test_perms.c - Postfix reaches the socket only (issue 18 point 6): the
 * archive copies and the audit log segel creates are readable by segel's
 * user alone, whatever the umask, and the packaged sysusers/tmpfiles
 * snippets give the MTA a socket group of its own, never segel's group or
 * a way into the data folders. Run as root, a new audit log (after a
 * rotation) still belongs to the folder's owner.
 */
#include <check.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "audit.h"
#include "msgbuf.h"
#include "testlib.h"
#include "util.h"

static char tmpdir[] = "/tmp/segel-test-perms.XXXXXX";

static mode_t
mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s", path);
	return st.st_mode & 07777;
}

START_TEST(archive_private)
{
	struct msgbuf *b = msgbuf_new(1 << 20, NULL);
	char *dir = tl_path(tmpdir, "archive"), *path = NULL;
	struct sbuf err;
	time_t when = 1700000000;	/* 2023-11-14 */

	sbuf_init(&err);
	umask(0);	/* the mode must not depend on the caller's umask */
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(msgbuf_append(b, "x\r\n", 3), 0);
	ck_assert_msg(archive_store(dir, when, "Q1", "<m@x>", "Subject: s\r\n",
	    b, &path, &err) == 0, "%s", err.s ? err.s : "");
	ck_assert_msg(mode_of(path) == 0600, "archive copy %04o",
	    (unsigned)mode_of(path));
	ck_assert_uint_eq(mode_of(tl_path(tmpdir, "archive/2023")), 0700);
	ck_assert_uint_eq(mode_of(tl_path(tmpdir, "archive/2023/11")), 0700);
	ck_assert_uint_eq(mode_of(tl_path(tmpdir, "archive/2023/11/14")), 0700);
	umask(077);
	free(path);
	msgbuf_free(b);
	sbuf_free(&err);
}
END_TEST

START_TEST(audit_private)
{
	char *path = xstrdup(tl_path(tmpdir, "audit.log"));
	struct audit_rec r = { "sign", "Q1", "<m@x>", "outbound", "a@x", NULL,
	    NULL, "signed", NULL, "127.0.0.1", NULL };
	struct audit *a;
	struct sbuf err;
	struct stat st;

	sbuf_init(&err);
	umask(0);
	ck_assert_ptr_nonnull((a = audit_open(path, &err)));
	ck_assert_int_eq(audit_write(a, &r), 0);
	ck_assert_msg(mode_of(path) == 0600, "audit.log %04o",
	    (unsigned)mode_of(path));
	audit_close(a);
	if (geteuid() == 0) {
		/* a log started by root after a rotation: the folder's owner,
		 * still 0600 */
		ck_assert_int_eq(mkdir(tl_path(tmpdir, "owned"), 0700), 0);
		ck_assert_int_eq(chown(tl_path(tmpdir, "owned"), 1, 1), 0);
		free(path);
		path = xstrdup(tl_path(tmpdir, "owned/audit.log"));
		ck_assert_ptr_nonnull((a = audit_open(path, &err)));
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_msg(st.st_uid == 1 && st.st_gid == 1 &&
		    (st.st_mode & 07777) == 0600, "%u:%u %04o",
		    (unsigned)st.st_uid, (unsigned)st.st_gid,
		    (unsigned)(st.st_mode & 07777));
		audit_close(a);
	}
	umask(077);
	free(path);
	sbuf_free(&err);
}
END_TEST

/* The lines of FILE (under the source tree) whose first word is w. */
static char *
lines_of(const char *file, const char *w)
{
	char *path = xasprintf("%s/%s", tl_srcdir(), file), *text, *p, *eol;
	struct sbuf out;
	size_t n;

	text = tl_slurp(path, &n);
	ck_assert_msg(text != NULL, "%s", path);
	sbuf_init(&out);
	for (p = text; *p != '\0'; p = eol + (*eol != '\0')) {
		eol = p + strcspn(p, "\n");
		if (strncmp(p, w, strlen(w)) == 0 && p[strlen(w)] == ' ') {
			sbuf_add(&out, p, (size_t)(eol - p));
			sbuf_adds(&out, "\n");
		}
	}
	free(text);
	free(path);
	return out.s != NULL ? sbuf_steal(&out) : xstrdup("");
}

START_TEST(packaging_socket_only)
{
	char *m = lines_of("systemd/segel.sysusers", "m");
	char *g = lines_of("systemd/segel.sysusers", "g");
	char *d = lines_of("systemd/segel.tmpfiles", "d");
	char mode[8], owner[32], group[64], path[256];
	const char *p;
	int n;

	/* postfix joins a socket group, never segel's own group */
	ck_assert_msg(strstr(m, "m postfix segel\n") == NULL, "%s", m);
	ck_assert_msg(strstr(m, "m postfix segel-sock\n") != NULL, "%s", m);
	ck_assert_msg(strstr(g, "g segel-sock") != NULL, "%s", g);
	/* folders: the socket folders are segel-sock (traversable), the data
	 * folders give the socket group nothing */
	for (p = d; *p != '\0'; p += n) {
		ck_assert_int_eq(sscanf(p, "d %255s %7s %31s %63s%n", path, mode,
		    owner, group, &n), 4);
		n += (int)strcspn(p + n, "\n") + 1;
		if (strstr(path, "/run/segel") == path ||
		    strcmp(path, "/var/spool/postfix/segel") == 0)
			ck_assert_msg(strcmp(group, "segel-sock") == 0 &&
			    strcmp(mode, "0750") == 0, "%s %s %s", path, mode, group);
		else if (strstr(path, "/var/lib/segel") == path ||
		    strcmp(path, "/etc/segel/certs") == 0)
			ck_assert_msg(strcmp(mode, "0700") == 0, "%s %s", path, mode);
		else
			ck_assert_msg(strcmp(group, "segel-sock") != 0, "%s %s",
			    path, group);
	}
	free(m);
	free(g);
	free(d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("perms");
	TCase *tc = tcase_create("core");
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		return EXIT_FAILURE;
	tcase_add_test(tc, archive_private);
	tcase_add_test(tc, audit_private);
	tcase_add_test(tc, packaging_socket_only);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	tl_rmtree(tmpdir);
	return rc;
}
