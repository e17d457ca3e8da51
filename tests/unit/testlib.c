/*
 * testlib.c - see testlib.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "conf.h"
#include "diag.h"
#include "testlib.h"
#include "util.h"

const char *
tl_srcdir(void)
{
	const char *s = getenv("SEGEL_SRCDIR");

	return s != NULL && *s != '\0' ? s : ".";
}

int
tl_gen_pki(const char *dir, const char *must_exist)
{
	char *cmd;
	int rc;

	cmd = xasprintf("'%s/tests/pki/gen' '%s' >/dev/null 2>&1 && "
	    "test -e '%s/%s'", tl_srcdir(), dir, dir, must_exist);
	rc = system(cmd);
	free(cmd);
	if (rc != 0)
		fprintf(stderr, "tests/pki/gen %s failed (run from the "
		    "repository root, or set SEGEL_SRCDIR)\n", dir);
	return rc == 0 ? 0 : -1;
}

struct pki *
tl_load_pki(const char *dir, const char *crldir)
{
	struct conf cf;
	struct diag d;
	struct pki *p;

	memset(&cf, 0, sizeof(cf));
	cf.path = (char *)"test";
	cf.trust_file = xasprintf("%s/trust.pem", dir);
	cf.crl_dir = xasprintf("%s/%s", dir, crldir);
	diag_init(&d);
	p = pki_load(&cf, &d);
	if (p == NULL)
		diag_print(&d, stderr);
	diag_free(&d);
	free(cf.trust_file);
	free(cf.crl_dir);
	return p;
}

char *
tl_path(const char *dir, const char *fmt, ...)
{
	static char buf[8][1024];
	static int i;
	char rel[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, rel);
	return buf[i];
}

void
tl_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

bool
tl_script(const char *dir, const char *pkidir, const char *script)
{
	char *path = xasprintf("%s/make.sh", dir), *cmd;
	FILE *f = fopen(path, "w");
	int rc;

	ck_assert_msg(f != NULL, "cannot write %s", path);
	fprintf(f, ". ../lib.sh\n%s\n", script);
	fclose(f);
	free(path);
	cmd = xasprintf("cd '%s' && P='%s' bash make.sh >sh.out 2>&1", dir,
	    pkidir);
	rc = system(cmd);
	free(cmd);
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77)
		return false;
	if (rc != 0) {
		cmd = xasprintf("cat '%s/sh.out' >&2", dir);
		if (system(cmd) != 0)
			perror("cat");
		free(cmd);
	}
	ck_assert_msg(rc == 0, "the script failed: %s", script);
	return true;
}

char *
tl_slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	struct sbuf b;
	char buf[65536];
	size_t r;

	if (f == NULL)
		return NULL;
	sbuf_init(&b);
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&b, buf, r);
	fclose(f);
	*n = b.len;
	return sbuf_steal(&b);
}

void
tl_write(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
	free(path);
}

void
tl_store_load(struct tl_store *f, const char *pkidir, const char *cert_dir,
    const char *domain, const char *user)
{
	memset(f, 0, sizeof(*f));
	f->c.path = (char *)"segel.conf";
	f->c.domain = (char *)domain;
	f->c.user = (char *)user;
	f->c.trust_file = xasprintf("%s/trust.pem", pkidir);
	f->c.crl_dir = xasprintf("%s/crl", pkidir);
	f->c.cert_dir = xasprintf("%s/%s", pkidir, cert_dir);
	diag_init(&f->d);
	f->p = pki_load(&f->c, &f->d);
	ck_assert_ptr_nonnull(f->p);
	f->cs = certstore_load(&f->c, f->p, &f->d);
	ck_assert_ptr_nonnull(f->cs);
}

void
tl_store_free(struct tl_store *f)
{
	certstore_free(f->cs);
	pki_free(f->p);
	diag_free(&f->d);
	free(f->c.trust_file);
	free(f->c.crl_dir);
	free(f->c.cert_dir);
}

void
tl_rmtree(const char *dir)
{
	char *cmd;

	if (getenv("SEGEL_KEEP_TMP") != NULL) {
		fprintf(stderr, "kept %s\n", dir);
		return;
	}
	cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
}

int
tl_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void
tl_message_split(const char *msg, size_t n, struct sbuf *hdr,
    struct msgbuf *body)
{
	const char *p, *b;

	for (p = msg; p < msg + n && *p != '\n' && *p != '\r'; p++) {
		for (; p < msg + n && *p != '\n'; p++)
			if (*p != '\r')
				sbuf_add(hdr, p, 1);
		sbuf_adds(hdr, "\r\n");
	}
	b = p < msg + n && *p == '\r' ? p + 2 : p + 1;
	if (b > msg + n)
		b = msg + n;
	ck_assert_int_eq(msgbuf_append(body, b, (size_t)(msg + n - b)), 0);
}
