/*
 * test_audit.c - the hash-chained audit log: concurrent writers (threads
 * and processes), tamper detection with the right line, rotation, escaping.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "testlib.h"
#include "util.h"

static char dir[] = "/tmp/segel-test-audit.XXXXXX";
#define F(name)	tl_path(dir, "%s", (name))

static size_t
count_lines(const char *path)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;
	int c;

	ck_assert_ptr_nonnull(fp);
	while ((c = getc(fp)) != EOF)
		n += c == '\n';
	fclose(fp);
	return n;
}

static void
write_n(const char *path, int n, const char *who)
{
	struct audit_rec r;
	struct sbuf err;
	struct audit *a;
	char q[32];
	int i;

	sbuf_init(&err);
	a = audit_open(path, &err);
	ck_assert_msg(a != NULL, "%s", err.s);
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(q, sizeof(q), "Q%s%04d", who, i);
		r.event = "sign";
		r.role = "outbound";
		r.queue_id = q;
		r.sender = "alice@tanjungpinangkota.go.id";
		r.result = "signed";
		ck_assert_int_eq(audit_write(a, &r), 0);
	}
	audit_close(a);
	sbuf_free(&err);
}

/* 0 when intact; else 1 and the message in *msg (static). */
static int
verify(const char *path, const char **msg)
{
	static char last[1024];
	struct sbuf err;
	int rc;

	sbuf_init(&err);
	rc = audit_verify(path, NULL, &err);
	snprintf(last, sizeof(last), "%s", err.s ? err.s : "");
	sbuf_free(&err);
	*msg = last;
	return rc;
}

struct thr {
	struct audit *a;
	int id, n, fails;
};

static void *
thr_main(void *arg)
{
	struct thr *t = arg;
	struct audit_rec r;
	char q[32];
	int i;

	for (i = 0; i < t->n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(q, sizeof(q), "T%d-%d", t->id, i);
		r.event = "verify";
		r.role = "inbound";
		r.queue_id = q;
		r.result = "pass";
		if (audit_write(t->a, &r) != 0)
			t->fails++;
	}
	return NULL;
}

/* nthreads threads, each n records, on one handle. */
static int
threads_write(const char *path, int nthreads, int n)
{
	pthread_t tid[16];
	struct thr t[16];
	struct sbuf err;
	struct audit *a;
	int i, fails = 0;

	sbuf_init(&err);
	if ((a = audit_open(path, &err)) == NULL)
		return -1;
	for (i = 0; i < nthreads; i++) {
		t[i].a = a;
		t[i].id = i;
		t[i].n = n;
		t[i].fails = 0;
		pthread_create(&tid[i], NULL, thr_main, &t[i]);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		fails += t[i].fails;
	}
	audit_close(a);
	sbuf_free(&err);
	return fails;
}

START_TEST(first_record_zero)
{
	char line[2048];
	FILE *fp;

	write_n(F("first.log"), 1, "a");
	fp = fopen(F("first.log"), "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(line, "\"prev\":\"000000000000000000000"
	    "0000000000000000000000000000000000000000000\"}"));
	ck_assert_ptr_nonnull(strstr(line, "{\"time\":\"20"));
	ck_assert_ptr_nonnull(strstr(line, "\"login\":null"));
}
END_TEST

START_TEST(threads)
{
	const char *msg;

	ck_assert_int_eq(threads_write(F("threads.log"), 8, 100), 0);
	ck_assert_uint_eq(count_lines(F("threads.log")), 800);
	ck_assert_msg(verify(F("threads.log"), &msg) == 0, "%s", msg);
	ck_assert_ptr_nonnull(strstr(msg, "800 records"));
}
END_TEST

START_TEST(processes)
{
	const char *msg;
	pid_t pid[2];
	int i, st;

	for (i = 0; i < 2; i++) {
		if ((pid[i] = fork()) == 0)
			_exit(threads_write(F("procs.log"), 4, 150) == 0 ? 0 : 1);
	}
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ck_assert_uint_eq(count_lines(F("procs.log")), 1200);
	ck_assert_msg(verify(F("procs.log"), &msg) == 0, "%s", msg);
}
END_TEST

static const struct {
	const char *name;
	const char *edit;	/* shell on $L (a 10-record log) */
	const char *want;	/* in the message after the file name */
} tamper_cases[] = {
	{ "one byte in record 5", "sed -i '5s/alice@/alicf@/' $L",
	    ":6: prev hash mismatch" },
	{ "one byte in record 1", "sed -i '1s/Qx0000/Qx0001/' $L",
	    ":2: prev hash mismatch" },
	{ "record 5 not JSON", "sed -i '5s/^{/[/' $L", ":5: not JSON" },
	{ "deleted record 5", "sed -i '5d' $L", ":5: prev hash mismatch" },
	{ "deleted record 1", "sed -i '1d' $L", ":1: prev hash mismatch" },
	{ "deleted last record", "sed -i '$d' $L", NULL },	/* undetectable */
	{ "swapped records 4 and 5", "sed -i '4{h;d};5{G}' $L",
	    ":4: prev hash mismatch" },
	{ "swapped records 9 and 10", "sed -i '9{h;d};10{G}' $L",
	    ":9: prev hash mismatch" },
	{ "prev of record 7 changed", "sed -i '7s/\"prev\":\"[0-9a-f]*\"/"
	    "\"prev\":\"" "ffffffffffffffffffffffffffffffff"
	    "ffffffffffffffffffffffffffffffff" "\"/' $L",
	    ":7: prev hash mismatch" },
	{ "torn last line", "printf '{\"time\":\"x' >> $L", ":11: incomplete" },
	{ "blank line inserted", "sed -i '3a\\\\' $L", ":4: not JSON" },
};

START_TEST(tamper_table)
{
	const char *msg;
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "tamper%d.log", _i);
	write_n(F(name), 10, "x");
	ck_assert_int_eq(verify(F(name), &msg), 0);
	tl_sh("L=%s; %s", F(name), tamper_cases[_i].edit);
	rc = verify(F(name), &msg);
	if (tamper_cases[_i].want == NULL) {
		ck_assert_int_eq(rc, 0);
		return;
	}
	ck_assert_msg(rc == 1, "%s: not detected (%s)", tamper_cases[_i].name,
	    msg);
	ck_assert_msg(strstr(msg, name) && strstr(msg, tamper_cases[_i].want),
	    "%s: message \"%s\", want \"%s\"", tamper_cases[_i].name, msg,
	    tamper_cases[_i].want);
}
END_TEST

/*
 * The head as an anchor. Without one, a chain rebuilt from scratch (every
 * prev recomputed) or cut at its end is intact; with the head noted
 * before, both are caught. $L is the log; REBUILD rewrites record 5 and
 * recomputes the chain as a forger would.
 */
#define REBUILD "/usr/bin/python3 -c 'import hashlib, re, sys\n" \
	"lines = open(sys.argv[1], \"rb\").read().split(b\"\\n\")[:-1]\n" \
	"lines[4] = lines[4].replace(b\"alice@\", b\"mallory@\")\n" \
	"prev = b\"0\" * 64\n" \
	"out = []\n" \
	"for l in lines:\n" \
	"    l = re.sub(rb\"\\\"prev\\\":\\\"[0-9a-f]*\\\"\", b\"\\\"prev\\\":\\\"\" + prev + b\"\\\"\", l)\n" \
	"    out.append(l)\n" \
	"    prev = hashlib.sha256(l).hexdigest().encode()\n" \
	"open(sys.argv[1], \"wb\").write(b\"\\n\".join(out) + b\"\\n\")' $L"

static const struct {
	const char *name;
	const char *edit;
	int intact;		/* audit_verify without the anchor */
	int anchored;		/* and with it */
	const char *want;	/* in the anchored message */
} anchor_cases[] = {
	{ "unchanged", "true", 0, 0, "anchor is record 10 of 10" },
	{ "two records appended", "APPEND", 0, 0, "anchor is record 10 of 12" },
	{ "last record deleted", "sed -i '$d' $L", 0, 1, "not in the chain" },
	{ "cut to its first 5 records", "sed -i '6,$d' $L", 0, 1,
	    "not in the chain" },
	{ "rebuilt with record 5 changed", REBUILD, 0, 1, "not in the chain" },
};

START_TEST(anchor_table)
{
	struct sbuf err;
	struct audit *a;
	char name[64], head[65], want[65], *cmd;
	const char *msg;
	FILE *p;
	int rc;

	snprintf(name, sizeof(name), "anchor%d.log", _i);
	write_n(F(name), 10, "x");
	sbuf_init(&err);
	ck_assert_ptr_nonnull((a = audit_open(F(name), &err)));
	ck_assert_int_eq(audit_head(a, head), 0);
	audit_close(a);
	/* the head is the SHA-256 of the last line, as coreutils see it */
	cmd = xasprintf("tail -n 1 %s | tr -d '\\n' | sha256sum", F(name));
	ck_assert_ptr_nonnull((p = popen(cmd, "r")));
	ck_assert_int_eq(fscanf(p, "%64s", want), 1);
	pclose(p);
	free(cmd);
	ck_assert_str_eq(head, want);
	if (strcmp(anchor_cases[_i].edit, "APPEND") == 0)
		write_n(F(name), 2, "y");
	else
		tl_sh("L=%s; %s", F(name), anchor_cases[_i].edit);
	ck_assert_int_eq(verify(F(name), &msg), anchor_cases[_i].intact);
	rc = audit_verify(F(name), head, &err);
	ck_assert_msg(rc == anchor_cases[_i].anchored &&
	    strstr(err.s, anchor_cases[_i].want) != NULL, "%s: %d \"%s\"",
	    anchor_cases[_i].name, rc, err.s);
	sbuf_free(&err);
}
END_TEST

START_TEST(empty_head)
{
	struct sbuf err;
	struct audit *a;
	char head[65];

	sbuf_init(&err);
	ck_assert_ptr_nonnull((a = audit_open(F("empty.log"), &err)));
	ck_assert_int_eq(audit_head(a, head), 0);
	audit_close(a);
	ck_assert_str_eq(head, "00000000000000000000000000000000"
	    "00000000000000000000000000000000");
	/* the head of an empty log anchors nothing, and is not refused */
	ck_assert_int_eq(audit_verify(F("empty.log"), head, &err), 0);
	sbuf_free(&err);
}
END_TEST

START_TEST(rotation)
{
	const char *msg;
	struct audit_rec r = { .event = "reload", .role = "admin" };
	struct sbuf err;
	struct audit *a;

	sbuf_init(&err);
	a = audit_open(F("rot.log"), &err);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(audit_write(a, &r), 0);
	ck_assert_int_eq(audit_write(a, &r), 0);
	tl_sh("mv %s %s", F("rot.log"), F("rot.log.1"));
	/* the same handle notices the rotation and writes to the new file */
	ck_assert_int_eq(audit_write(a, &r), 0);
	write_n(F("rot.log"), 3, "r");
	tl_sh("mv %s %s && mv %s %s", F("rot.log.1"), F("rot.log.2"),
	    F("rot.log"), F("rot.log.1"));
	write_n(F("rot.log"), 2, "s");
	ck_assert_int_eq(audit_write(a, &r), 0);
	audit_close(a);
	ck_assert_uint_eq(count_lines(F("rot.log.2")), 2);
	ck_assert_uint_eq(count_lines(F("rot.log.1")), 4);
	ck_assert_uint_eq(count_lines(F("rot.log")), 3);
	ck_assert_msg(verify(F("rot.log"), &msg) == 0, "%s", msg);
	ck_assert_ptr_nonnull(strstr(msg, "9 records in 3 files"));

	/* the last record of .2 edited: the first of .1 names it */
	tl_sh("cp %s %s.bak && sed -i '2s/reload/rel0ad/' %s", F("rot.log.2"),
	    F("rot.log.2"), F("rot.log.2"));
	ck_assert_int_eq(verify(F("rot.log"), &msg), 1);
	ck_assert_msg(strstr(msg, "rot.log.1:1: prev hash mismatch"), "%s", msg);
	tl_sh("mv %s.bak %s", F("rot.log.2"), F("rot.log.2"));

	/* retention removed the oldest file: the chain starts at .1 */
	tl_sh("rm %s", F("rot.log.2"));
	ck_assert_msg(verify(F("rot.log"), &msg) == 0, "%s", msg);
	ck_assert_ptr_nonnull(strstr(msg, "predecessors were removed"));
	/* but the first line of the current file must chain to .1 */
	tl_sh("rm %s", F("rot.log.1"));
	ck_assert_int_eq(verify(F("rot.log"), &msg), 1);
	ck_assert_ptr_nonnull(strstr(msg, "rot.log:1: prev hash mismatch"));
	sbuf_free(&err);
}
END_TEST

/* logrotate's order: path.N -> path.N+1 ... path.1 -> path.2, path -> .1 */
static void
rotate(const char *path, int *n)
{
	char from[600], to[600];
	int i;

	if (access(path, F_OK) != 0)
		return;		/* nothing written since the last one */
	for (i = *n; i >= 1; i--) {
		snprintf(from, sizeof(from), "%s.%d", path, i);
		snprintf(to, sizeof(to), "%s.%d", path, i + 1);
		ck_assert_int_eq(rename(from, to), 0);
	}
	snprintf(to, sizeof(to), "%s.1", path);
	ck_assert_int_eq(rename(path, to), 0);
	(*n)++;
}

/* Two writer processes (two threads each) while the log is rotated 6 times. */
START_TEST(rotation_under_load)
{
	const char *msg;
	char f[600];
	size_t total = 0;
	pid_t pid[2];
	int i, n = 0, st;

	for (i = 0; i < 2; i++) {
		if ((pid[i] = fork()) == 0)
			_exit(threads_write(F("busy.log"), 2, 300) == 0 ? 0 : 1);
	}
	for (i = 0; i < 6; i++) {
		usleep(30000);
		rotate(F("busy.log"), &n);
	}
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pid[i], &st, 0), pid[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (i = 1; i <= n; i++) {
		snprintf(f, sizeof(f), "%s.%d", F("busy.log"), i);
		total += count_lines(f);
	}
	if (access(F("busy.log"), F_OK) == 0)
		total += count_lines(F("busy.log"));
	ck_assert_uint_eq(total, 1200);
	ck_assert_msg(n >= 2, "only %d rotations happened while writing", n);
	ck_assert_msg(verify(F("busy.log"), &msg) == 0, "%s", msg);
	ck_assert_ptr_nonnull(strstr(msg, "1200 records"));
}
END_TEST

START_TEST(escaping)
{
	struct audit_rec r = { .event = "refuse", .role = "outbound" };
	struct audit_entry e;
	struct sbuf err;
	struct audit *a;
	char line[4096];
	const char *msg;
	FILE *fp;
	size_t i;

	r.reason = "say \"hi\"\\ back\nnext\x01 caf\xc3\xa9 bad\xff\xfe end";
	r.message_id = "<a\tb@c>";
	sbuf_init(&err);
	a = audit_open(F("esc.log"), &err);
	ck_assert_int_eq(audit_write(a, &r), 0);
	audit_close(a);
	fp = fopen(F("esc.log"), "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	fclose(fp);
	for (i = 0; line[i] != '\n'; i++)
		ck_assert_msg((unsigned char)line[i] >= 0x20, "raw control "
		    "byte at %zu", i);
	ck_assert_ptr_null(strchr(line, '\xff'));
	ck_assert_int_eq(audit_parse(line, strlen(line) - 1, &e), 0);
	ck_assert_str_eq(e.reason, "say \"hi\"\\ back\nnext\x01 caf\xc3\xa9 "
	    "bad\\xFF\\xFE end");
	ck_assert_str_eq(e.message_id, "<a\tb@c>");
	ck_assert_ptr_null(e.login);
	ck_assert_str_eq(e.event, "refuse");
	audit_entry_free(&e);
	ck_assert_int_eq(verify(F("esc.log"), &msg), 0);
	tl_sh("/usr/bin/python3 -c 'import json,sys\n"
	    "for l in open(sys.argv[1], encoding=\"utf-8\"): json.loads(l)' %s",
	    F("esc.log"));
	sbuf_free(&err);
}
END_TEST

static const struct {
	const char *json;
	int ok;
} parse_cases[] = {
	{ "{\"event\":\"sign\",\"prev\":\"00\"}", 0 },
	{ " { \"a\" : 1 , \"b\" : true , \"c\" : null } ", 0 },
	{ "{}", 0 },
	{ "{\"a\":\"\\ud83d\\ude00\"}", 0 },
	{ "{\"a\":\"\\ud83d\"}", -1 },
	{ "{\"a\":\"x\"", -1 },
	{ "{\"a\":\"x\"} trailing", -1 },
	{ "[1]", -1 },
	{ "", -1 },
	{ "{\"a\":\"raw\ttab\"}", -1 },
	{ "{\"a\":\"bad \\q escape\"}", -1 },
	{ "{\"a\":nul}", -1 },
	{ "{\"a\":1,}", -1 },
};

START_TEST(parse_table)
{
	struct audit_entry e;
	const char *s = parse_cases[_i].json;

	ck_assert_msg(audit_parse(s, strlen(s), &e) == parse_cases[_i].ok,
	    "%s", s);
	audit_entry_free(&e);
}
END_TEST

START_TEST(open_fails)
{
	struct sbuf err;

	sbuf_init(&err);
	ck_assert_ptr_null(audit_open("/nonexistent-dir/audit.log", &err));
	ck_assert_ptr_nonnull(strstr(err.s, "cannot open"));
	sbuf_free(&err);
	audit_close(NULL);
}
END_TEST

START_TEST(torn_tail_repaired_by_writer)
{
	const char *msg;

	write_n(F("torn.log"), 3, "t");
	tl_sh("printf '{\"partial' >> %s", F("torn.log"));
	write_n(F("torn.log"), 2, "u");
	ck_assert_uint_eq(count_lines(F("torn.log")), 6);
	/* the torn record is named; the ones after it still chain to it */
	ck_assert_int_eq(verify(F("torn.log"), &msg), 1);
	ck_assert_msg(strstr(msg, "torn.log:4: not JSON"), "%s", msg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("core");
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, first_record_zero);
	tcase_add_test(tc, threads);
	tcase_add_test(tc, processes);
	tcase_add_loop_test(tc, tamper_table, 0,
	    sizeof(tamper_cases) / sizeof(tamper_cases[0]));
	tcase_add_loop_test(tc, anchor_table, 0,
	    sizeof(anchor_cases) / sizeof(anchor_cases[0]));
	tcase_add_test(tc, empty_head);
	tcase_add_test(tc, rotation);
	tcase_add_test(tc, rotation_under_load);
	tcase_add_test(tc, escaping);
	tcase_add_loop_test(tc, parse_table, 0,
	    sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, open_fails);
	tcase_add_test(tc, torn_tail_repaired_by_writer);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	tl_rmtree(dir);
	return rc;
}
