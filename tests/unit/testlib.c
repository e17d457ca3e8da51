/*
 * testlib.c - see testlib.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
