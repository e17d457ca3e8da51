/*
 * fuzz_verify.c - smime_verify() on arbitrary messages (multipart/signed,
 * application/pkcs7-mime, nested in multipart/mixed, or anything else).
 *
 * Input: byte 0 holds flags (bit 0: a 64-byte memory threshold so the body
 * is spooled and mapped; bit 1: From is fuzz@example.org, else
 * someone@example.net); the rest is split at the first empty line into the
 * header block and the body. The trust store is the build PKI's root, which
 * issued the signer of the fuzz_verify seeds. Every input gets a result in
 * range, with a comment for anything but none/pass; the result formats into
 * an Authentication-Results value that parses back to our authserv-id.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "authres.h"
#include "conf.h"
#include "diag.h"
#include "fuzz_common.h"
#include "pki.h"
#include "verify.h"
#include "util.h"

#define SERVID	"mail.tanjungpinangkota.go.id"

static struct pki *pki;
static char *tmpdir;
static time_t now;

static void
cleanup(void)
{
	(void)rmdir(tmpdir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conf cf;
	struct diag d;

	g_mime_init();
	memset(&cf, 0, sizeof(cf));
	cf.path = "fuzz";
	cf.trust_file = xstrdup(fuzz_pki_path("trust.pem"));
	diag_init(&d);
	pki = pki_load(&cf, &d);
	diag_print(&d, stderr);
	diag_free(&d);
	free(cf.trust_file);
	if (pki == NULL) {
		fprintf(stderr, "fuzz_verify: no trust store in %s (run make -f "
		    "tests/fuzz/Makefile build, or set SEGEL_FUZZ_PKI)\n",
		    fuzz_pki_dir());
		exit(1);
	}
	tmpdir = fuzz_tmpdir("verify");
	atexit(cleanup);
	now = time(NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verify_result res;
	struct msgbuf *body;
	char *headers, *v, *id;

	if (size < 1)
		return 0;
	fuzz_split(data + 1, size - 1, (data[0] & 1) ? 64 : 1 << 20, tmpdir,
	    &headers, &body);
	memset(&res, 0, sizeof(res));
	(void)smime_verify(pki, headers, body, (data[0] & 2) ?
	    "fuzz@example.org" : "someone@example.net", now, &res);
	FUZZ_ASSERT(res.result >= AR_NONE && res.result <= AR_SKIP,
	    "result %d", (int)res.result);
	FUZZ_ASSERT(res.result == AR_NONE || res.result == AR_PASS ||
	    (res.comment != NULL && *res.comment != '\0'),
	    "result %s without a reason", ar_result_name(res.result));
	v = authres_format(SERVID, &res);
	id = authres_servid(v);
	FUZZ_ASSERT(id != NULL && strcmp(id, SERVID) == 0, "formatted \"%s\"", v);
	free(id);
	free(v);
	verify_result_free(&res);
	msgbuf_free(body);
	free(headers);
	return 0;
}
