/*
 * test_differential.c - what the reader sees is what segel verified (issue
 * 18). Genuine messages signed by alice (text/plain, and multipart/
 * alternative) are re-packaged in every hostile way tests/interop/repack
 * knows: the signed part and signature unchanged, text carrying a marker
 * put outside the signed bytes (delimiters with text after them, preamble
 * and epilogue, nested multiparts, boundary reuse, duplicated fields in
 * any part, CR-only line ends, RFC 2231 parameters, boundaries with white
 * space or quotes). Each is verified by smime_verify as the gateway does,
 * and read by two independent readers: Python's email package
 * (policy=default, tests/interop/read-displayed) and GMime as a mail
 * client uses it (the whole message parsed by g_mime_parser_construct_
 * message, every part walked). The test fails when segel says pass while a
 * reader displays a part with the marker (but the one list footer every
 * reader shows as an inline text/plain last part, which segel's comment
 * names), and when a shape that must pass (the genuine message, text in
 * the preamble or epilogue, padding after a delimiter, a list footer)
 * does not: a test that passes nothing proves nothing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gmime/gmime.h>
#include <openssl/err.h>

#include "authres.h"
#include "msgbuf.h"
#include "pki.h"
#include "testlib.h"
#include "util.h"
#include "verify.h"

#define ALICE "alice@tanjungpinangkota.go.id"
#define MARK "EVIL-MARK"
#define MAXV 128

static char tmpdir[] = "/tmp/segel-test-diff.XXXXXX";
static struct pki *pki;
static char *srcdir;	/* absolute: the scripts run in other folders */

static const char shlib[] =
    "set -e\n"
    "S=$P/staff; A=alice@tanjungpinangkota.go.id\n"
    "genuine() { { printf 'From: Alice <%s>\\r\\nTo: kepala@tanjungpinangkota.go.id\\r\\n"
    "Subject: Surat resmi\\r\\nMessage-ID: <d@x>\\r\\nMIME-Version: 1.0\\r\\n' $A; "
    "openssl cms -sign -in content.txt -signer $S/$A.pem -inkey $S/$A.key "
    "-certfile $P/chain.pem -binary; } > genuine.eml; }\n";

/* The contents alice signs: one text part, and text with HTML. */
static const char *const contents[] = {
	"printf 'Content-Type: text/plain; charset=us-ascii\\r\\n\\r\\n"
	"Halo Bapak/Ibu,\\r\\nIni surat resmi.\\r\\n' > content.txt",
	"printf 'Content-Type: multipart/alternative; boundary=\"ALT\"\\r\\n\\r\\n"
	"--ALT\\r\\nContent-Type: text/plain\\r\\n\\r\\nSurat resmi.\\r\\n"
	"--ALT\\r\\nContent-Type: text/html\\r\\n\\r\\n<p>Surat resmi.</p>\\r\\n"
	"--ALT--\\r\\n' > content.txt",
};

/* Shapes that must pass: without them the test would prove nothing. */
static const char *const must_pass[] = {
	"genuine", "preamble", "epilogue", "close-padding", "delim-padding",
	"footer",
};

struct reading {
	int leaves;
	char marked[512];	/* TYPE;DISPOSITION;INDEX,... or "-" */
};

/* ---- GMime as a mail client ---------------------------------------- */

static bool
has_mark(GMimePart *p)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *mem;
	GByteArray *a;
	bool found;

	if (w == NULL)
		return false;
	a = g_byte_array_new();
	mem = g_mime_stream_mem_new_with_byte_array(a);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	(void)g_mime_data_wrapper_write_to_stream(w, mem);
	g_byte_array_append(a, (const guint8 *)"", 1);
	found = strstr((const char *)a->data, MARK) != NULL;
	g_object_unref(mem);
	g_byte_array_free(a, TRUE);
	return found;
}

static void
gm_walk(GMimeObject *o, struct reading *r, int depth)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	GMimeContentDisposition *cd;
	GMimeMessage *msg;
	char *type;
	int i;

	if (depth > 32)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		for (i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(o)); i++)
			gm_walk(g_mime_multipart_get_part(GMIME_MULTIPART(o), i),
			    r, depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (msg != NULL && g_mime_message_get_mime_part(msg) != NULL)
			gm_walk(g_mime_message_get_mime_part(msg), r, depth + 1);
		return;
	}
	if (!GMIME_IS_PART(o) || g_mime_content_type_is_type(ct, "application",
	    "pkcs7-signature") || g_mime_content_type_is_type(ct,
	    "application", "x-pkcs7-signature"))
		return;
	if (has_mark(GMIME_PART(o))) {
		cd = g_mime_object_get_content_disposition(o);
		type = g_mime_content_type_get_mime_type(ct);
		snprintf(r->marked + strlen(r->marked), sizeof(r->marked) -
		    strlen(r->marked), "%s%s;%s;%d", r->marked[0] ? "," : "",
		    type, cd != NULL && g_mime_content_disposition_is_attachment(cd) ?
		    "attachment" : "inline", r->leaves);
		g_free(type);
	}
	r->leaves++;
}

static void
gmime_read(const char *path, struct reading *r)
{
	GMimeStream *s = g_mime_stream_file_open(path, "r", NULL);
	GMimeParser *p;
	GMimeMessage *m;

	memset(r, 0, sizeof(*r));
	ck_assert_ptr_nonnull(s);
	p = g_mime_parser_new_with_stream(s);
	m = g_mime_parser_construct_message(p, NULL);
	if (m != NULL && g_mime_message_get_mime_part(m) != NULL)
		gm_walk(g_mime_message_get_mime_part(m), r, 0);
	if (r->marked[0] == '\0')
		strcpy(r->marked, "-");
	if (m != NULL)
		g_object_unref(m);
	g_object_unref(p);
	g_object_unref(s);
}

/* ---- Python's email package ---------------------------------------- */

/* "NAME LEAVES MARKED" lines of read-displayed for names in dir. */
static int
python_read(const char *dir, char names[][64], int n, struct reading *r)
{
	char *cmd, *out, *line;
	char name[64];
	size_t len;
	int i, k = 0;

	cmd = xasprintf("cd '%s' && /usr/bin/python3 '%s/tests/interop/read-displayed' "
	    MARK " *.eml > py.out", dir, srcdir);
	ck_assert_msg(system(cmd) == 0, "read-displayed failed in %s", dir);
	free(cmd);
	out = tl_slurp(tl_path(dir, "py.out"), &len);
	for (line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n"))
		for (i = 0; i < n; i++) {
			if (sscanf(line, "%63s", name) != 1 ||
			    strcmp(name, names[i]) != 0)
				continue;
			ck_assert_int_eq(sscanf(line, "%*s %d %511s", &r[i].leaves,
			    r[i].marked), 2);
			k++;
		}
	free(out);
	return k;
}

/* ---- segel --------------------------------------------------------- */

static void
segel_verify(const char *path, struct verify_result *res)
{
	struct msgbuf *mb = msgbuf_new(1 << 20, NULL);
	struct sbuf h;
	char *msg;
	size_t n;

	ck_assert_ptr_nonnull((msg = tl_slurp(path, &n)));
	sbuf_init(&h);
	tl_message_split(msg, n, &h, mb);
	(void)smime_verify(pki, h.s != NULL ? h.s : "", mb, ALICE, time(NULL),
	    res);
	ERR_clear_error();
	sbuf_free(&h);
	msgbuf_free(mb);
	free(msg);
}

/*
 * What a reader shows is signed, or is the one footer: a single marked
 * part, inline text/plain, the last one, and segel's comment says so.
 */
static bool
reading_ok(const struct reading *r, const struct verify_result *res)
{
	char type[128], disp[32];
	int idx;

	if (strcmp(r->marked, "-") == 0)
		return true;
	if (res->comment == NULL || strstr(res->comment, "list footer") == NULL ||
	    strchr(r->marked, ',') != NULL ||
	    sscanf(r->marked, "%127[^;];%31[^;];%d", type, disp, &idx) != 3)
		return false;
	return strcmp(type, "text/plain") == 0 && strcmp(disp, "inline") == 0 &&
	    idx == r->leaves - 1;
}

static bool
is_must_pass(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(must_pass) / sizeof(must_pass[0]); i++)
		if (strcmp(name, must_pass[i]) == 0)
			return true;
	return false;
}

START_TEST(test_repackaged)
{
	char *dir = xasprintf("%s/c%d", tmpdir, _i), *cmd, *list, *line;
	static char names[MAXV][64];
	static struct reading py[MAXV];
	struct reading gm;
	struct verify_result res;
	struct sbuf bad;	/* every hole, not only the first */
	size_t len;
	int n = 0, i, passes = 0;

	sbuf_init(&bad);

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	cmd = xasprintf("%s; genuine; /usr/bin/python3 '%s/tests/interop/repack' "
	    "genuine.eml v > names.txt", contents[_i], srcdir);
	tl_script(dir, tl_path(tmpdir, "pki"), cmd);
	free(cmd);
	list = tl_slurp(tl_path(dir, "names.txt"), &len);
	for (line = strtok(list, "\n"); line != NULL && n < MAXV;
	    line = strtok(NULL, "\n"))
		snprintf(names[n++], sizeof(names[0]), "%s", line);
	free(list);
	memset(py, 0, sizeof(py));
	ck_assert_int_eq(python_read(tl_path(dir, "v"), names, n, py), n);
	for (i = 0; i < n; i++) {
		segel_verify(tl_path(dir, "v/%s.eml", names[i]), &res);
		gmime_read(tl_path(dir, "v/%s.eml", names[i]), &gm);
		fprintf(stderr, "content %d %-24s segel %-8s python %d [%s] "
		    "gmime %d [%s] (%s)\n", _i, names[i], ar_result_name(res.result),
		    py[i].leaves, py[i].marked, gm.leaves, gm.marked,
		    res.comment ? res.comment : "");
		if (is_must_pass(names[i]) && res.result != AR_PASS)
			sbuf_printf(&bad, "\n  %s: %s (%s), want pass", names[i],
			    ar_result_name(res.result), res.comment ? res.comment : "");
		if (res.result == AR_PASS) {
			passes++;
			if (!reading_ok(&py[i], &res) || !reading_ok(&gm, &res))
				sbuf_printf(&bad, "\n  %s: segel pass (%s), Python's "
				    "email shows [%s], GMime [%s]", names[i],
				    res.comment, py[i].marked, gm.marked);
		}
		verify_result_free(&res);
	}
	ck_assert_msg(bad.s == NULL, "content %d:%s", _i, bad.s);
	ck_assert_int_ge(passes, (int)(sizeof(must_pass) / sizeof(must_pass[0])));
	sbuf_free(&bad);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("differential");
	TCase *tc = tcase_create("core");
	char *pkidir;
	int rc;

	if (system("/usr/bin/python3 -c 'import email.policy' 2>/dev/null") != 0) {
		fprintf(stderr, "test_differential: needs /usr/bin/python3\n");
		return 77;
	}
	if (mkdtemp(tmpdir) == NULL || (srcdir = realpath(tl_srcdir(), NULL)) == NULL)
		return EXIT_FAILURE;
	pkidir = xasprintf("%s/pki", tmpdir);
	if (tl_gen_pki(pkidir, "trust.pem") != 0 ||
	    (pki = tl_load_pki(pkidir, "crl")) == NULL) {
		fprintf(stderr, "test_differential: cannot build the test PKI\n");
		return EXIT_FAILURE;
	}
	tl_write(tmpdir, "lib.sh", shlib);
	g_mime_init();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_repackaged, 0,
	    (int)(sizeof(contents) / sizeof(contents[0])));
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	pki_free(pki);
	g_mime_shutdown();
	tl_rmtree(tmpdir);
	free(pkidir);
	free(srcdir);
	return rc;
}
