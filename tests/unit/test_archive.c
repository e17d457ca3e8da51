/*
 * test_archive.c - the archive copy (archive.c): its bytes are the header
 * block, an empty line and the body (in memory and spooled); a second
 * copy under the same name is refused and the first stays as it was; no
 * temporary file is left in the day folder either way.
 */
#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "msgbuf.h"
#include "testlib.h"
#include "util.h"

static char tmpdir[] = "/tmp/segel-test-archive.XXXXXX";

/* Entries of dir, dot files included, but "." and "..". */
static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Stores one copy with a body of n octets (threshold: spool beyond). */
static void
store_and_check(const char *sub, size_t n, size_t threshold)
{
	struct msgbuf *b = msgbuf_new(threshold, tmpdir);
	char *dir = xstrdup(tl_path(tmpdir, "%s", sub)), *path = NULL, *got;
	const char *hdr = "Subject: s\r\nFrom: <a@x>\r\n";
	struct sbuf err, want;
	size_t i, len;

	sbuf_init(&err);
	sbuf_init(&want);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	sbuf_adds(&want, hdr);
	sbuf_adds(&want, "\r\n");
	for (i = 0; i < n; i++) {
		char c = (char)('a' + i % 26);

		ck_assert_int_eq(msgbuf_append(b, &c, 1), 0);
		sbuf_add(&want, &c, 1);
	}
	ck_assert_msg(archive_store(dir, 1700000000, "Q1", "<m@x>", hdr, b,
	    &path, &err) == 0, "%s", err.s ? err.s : "");
	got = tl_slurp(path, &len);
	ck_assert_uint_eq(len, want.len);
	ck_assert(memcmp(got, want.s, len) == 0);
	free(got);
	/* the same name again: refused, the first copy untouched */
	sbuf_free(&err);
	sbuf_init(&err);
	ck_assert_int_eq(archive_store(dir, 1700000000, "Q1", "<m@x>",
	    "Subject: other\r\n\r\n", b, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.s, "link"));
	got = tl_slurp(path, &len);
	ck_assert_uint_eq(len, want.len);
	ck_assert(memcmp(got, want.s, len) == 0);
	free(got);
	ck_assert_int_eq(entries(tl_path(tmpdir, "%s/2023/11/14", sub)), 1);
	free(path);
	free(dir);
	msgbuf_free(b);
	sbuf_free(&err);
	sbuf_free(&want);
}

START_TEST(copy_in_memory)
{
	store_and_check("mem", 10240, 1 << 20);
}
END_TEST

START_TEST(copy_spooled)
{
	store_and_check("spool", 200000, 4096);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("archive");
	TCase *tc = tcase_create("store");
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	tcase_add_test(tc, copy_in_memory);
	tcase_add_test(tc, copy_spooled);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	tl_rmtree(tmpdir);
	return rc;
}
