/*
 * test_verify_memory.c - verification in bounded memory (issue 18 point
 * 5). A 42 MB opaque signed message whose content is another opaque signed
 * message (alice's, both) is spooled to a file as the daemon spools a big
 * body, and verified; the process's peak RSS (VmHWM, reset through
 * /proc/self/clear_refs before verifying) must stay under 64 MB and the
 * result must be pass. Opaque BER that cannot be split (indefinite
 * lengths) is read whole: bounded too, and neutral past 12 MB. The figures
 * are printed for the report.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "authres.h"
#include "msgbuf.h"
#include "pki.h"
#include "testlib.h"
#include "util.h"
#include "verify.h"

#define ALICE "alice@tanjungpinangkota.go.id"
#define PEAK_MAX_KB (64 * 1024)

/* ASan's shadow memory and quarantine are not the daemon's RSS: under
 * make check-sanitize the results are checked, the bound is not. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANINGFUL false
#else
#define RSS_MEANINGFUL true
#endif

static void
assert_peak(long peak, const char *what)
{
	if (!RSS_MEANINGFUL) {
		printf("SKIP: %s: peak RSS %ld kB not checked under ASan\n", what,
		    peak);
		return;
	}
	ck_assert_msg(peak <= PEAK_MAX_KB, "%s: peak RSS %ld kB > %d kB", what,
	    peak, PEAK_MAX_KB);
}

static char tmpdir[] = "/tmp/segel-test-mem.XXXXXX";
static struct pki *pki;

/* inner: opaque signed-data over ~23 MB of text; outer: opaque over the
 * inner message; m.eml about 42 MB */
static const char mkbig[] =
    "S=$P/staff; A=alice@tanjungpinangkota.go.id\n"
    "{ printf 'Content-Type: text/plain; charset=us-ascii\\r\\n"
    "Content-Transfer-Encoding: base64\\r\\n\\r\\n'; "
    "head -c 17000000 /dev/zero | tr '\\0' 'x' | base64 -w 76 | sed 's/$/\\r/'; } > c.txt\n"
    "openssl cms -sign -nodetach -binary -in c.txt -signer $S/$A.pem -inkey $S/$A.key "
    "-certfile $P/chain.pem | sed 's/\\r*$/\\r/' > inner.eml\n"
    "rm c.txt\n"
    "{ printf 'From: Alice <%s>\\r\\nTo: kepala@tanjungpinangkota.go.id\\r\\n"
    "Subject: besar\\r\\nMessage-ID: <big@x>\\r\\n' $A; "
    "openssl cms -sign -nodetach -binary -in inner.eml -signer $S/$A.pem -inkey $S/$A.key "
    "-certfile $P/chain.pem | sed 's/\\r*$/\\r/'; } > m.eml\n"
    "rm inner.eml\n";

/* opaque signed-data in BER with indefinite lengths (-stream), content of
 * MB megabytes: verified whole in memory up to 12 MB, neutral beyond */
static const char mkber[] =
    "S=$P/staff; A=alice@tanjungpinangkota.go.id\n"
    "{ printf 'Content-Type: text/plain; charset=us-ascii\\r\\n"
    "Content-Transfer-Encoding: base64\\r\\n\\r\\n'; "
    "head -c $((MB * 1024 * 1024 * 3 / 4 - 4096)) /dev/zero | tr '\\0' 'y' | "
    "base64 -w 76 | sed 's/$/\\r/'; } > c.txt\n"
    "{ printf 'From: Alice <%s>\\r\\nTo: kepala@tanjungpinangkota.go.id\\r\\n"
    "Subject: ber\\r\\nMessage-ID: <ber@x>\\r\\n' $A; "
    "openssl cms -sign -nodetach -binary -stream -in c.txt -signer $S/$A.pem "
    "-inkey $S/$A.key -certfile $P/chain.pem | sed 's/\\r*$/\\r/'; } > m.eml\n"
    "rm c.txt\n";

static long
hwm_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static bool
hwm_reset(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	bool ok = fd != -1 && write(fd, "5", 1) == 1;

	if (fd != -1)
		close(fd);
	return ok;
}

/* The header block as "Name: value\r\n" lines; the body spooled to a file
 * (threshold 1 MiB, as memory_threshold) read in chunks. */
static struct msgbuf *
spool(const char *path, struct sbuf *h)
{
	struct msgbuf *mb = msgbuf_new(1 << 20, tmpdir);
	char buf[65536], line[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL && strcmp(line, "\r\n") != 0) {
		line[strcspn(line, "\r\n")] = '\0';
		sbuf_adds(h, line);
		sbuf_adds(h, "\r\n");
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		ck_assert_int_eq(msgbuf_append(mb, buf, n), 0);
	fclose(f);
	return mb;
}

START_TEST(nested_opaque_42mb)
{
	struct verify_result res;
	struct msgbuf *mb;
	struct sbuf h;
	long before, peak;

	ck_assert_int_eq(mkdir(tl_path(tmpdir, "w"), 0700), 0);
	tl_write(tmpdir, "lib.sh", "set -e\n");
	tl_script(tl_path(tmpdir, "w"), tl_path(tmpdir, "pki"), mkbig);
	sbuf_init(&h);
	mb = spool(tl_path(tmpdir, "w/m.eml"), &h);
	ck_assert_uint_gt(msgbuf_len(mb), 40u * 1000 * 1000);
	if (!hwm_reset())
		fprintf(stderr, "SKIP: cannot reset VmHWM here\n");
	before = hwm_kb();
	ck_assert_int_eq(smime_verify(pki, h.s, mb, ALICE, time(NULL), &res), 0);
	peak = hwm_kb();
	printf("verify_memory: %zu byte message, VmHWM %ld kB before, %ld kB "
	    "peak while verifying (%s)\n", msgbuf_len(mb), before, peak,
	    ar_result_name(res.result));
	ck_assert_msg(res.result == AR_PASS, "result %s (%s)",
	    ar_result_name(res.result), res.comment ? res.comment : "");
	assert_peak(peak, "nested opaque");
	verify_result_free(&res);
	msgbuf_free(mb);
	sbuf_free(&h);
}
END_TEST

/* BER of 11 MB (the in-memory path, bounded) and of 14 MB (neutral). */
START_TEST(ber_opaque)
{
	static const struct {
		int mb;
		enum ar_result want;
	} c[] = { { 11, AR_PASS }, { 14, AR_NEUTRAL } };
	struct verify_result res;
	struct msgbuf *mb;
	struct sbuf h;
	char *dir = xasprintf("%s/ber%d", tmpdir, _i), *script;
	long peak;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	tl_write(tmpdir, "lib.sh", "set -e\n");
	script = xasprintf("MB=%d\n%s", c[_i].mb, mkber);
	tl_script(dir, tl_path(tmpdir, "pki"), script);
	sbuf_init(&h);
	mb = spool(tl_path(dir, "m.eml"), &h);
	(void)hwm_reset();
	ck_assert_int_eq(smime_verify(pki, h.s, mb, ALICE, time(NULL), &res), 0);
	peak = hwm_kb();
	printf("verify_memory: BER, %zu byte message: %ld kB peak (%s: %s)\n",
	    msgbuf_len(mb), peak, ar_result_name(res.result),
	    res.comment ? res.comment : "");
	ck_assert_msg(res.result == c[_i].want, "result %s (%s)",
	    ar_result_name(res.result), res.comment ? res.comment : "");
	assert_peak(peak, "BER opaque");
	verify_result_free(&res);
	msgbuf_free(mb);
	sbuf_free(&h);
	free(script);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("verify_memory");
	TCase *tc = tcase_create("core");
	char *pkidir;
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		return EXIT_FAILURE;
	pkidir = xasprintf("%s/pki", tmpdir);
	if (tl_gen_pki(pkidir, "trust.pem") != 0 ||
	    (pki = tl_load_pki(pkidir, "crl")) == NULL)
		return EXIT_FAILURE;
	g_mime_init();
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, nested_opaque_42mb);
	tcase_add_loop_test(tc, ber_opaque, 0, 2);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	pki_free(pki);
	g_mime_shutdown();
	tl_rmtree(tmpdir);
	free(pkidir);
	return rc;
}
