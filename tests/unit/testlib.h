/*
 * testlib.h - what the unit test programs share: where the sources are,
 * the test PKI (tests/pki/gen) in a temporary folder, loading it as segel
 * does, and running a Check suite. Linked into every build/tests/test_*.
 */
#ifndef SEGEL_TESTLIB_H
#define SEGEL_TESTLIB_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "certstore.h"
#include "conf.h"
#include "diag.h"
#include "msgbuf.h"
#include "pki.h"
#include "util.h"

/* SEGEL_SRCDIR, or "." (the tests run from the repository root). */
const char *tl_srcdir(void);

/*
 * Runs tests/pki/gen into DIR, quietly. 0 when the generator succeeded and
 * DIR/MUST_EXIST is there; otherwise says why on stderr.
 */
int tl_gen_pki(const char *dir, const char *must_exist);

/* The PKI of DIR as segel loads it: DIR/trust.pem, CRLs from DIR/CRLDIR. */
struct pki *tl_load_pki(const char *dir, const char *crldir);

/*
 * DIR/FMT...: a path in one of 8 rotating static buffers, so that a few can
 * be used in one call (not thread-safe; paths up to 1 KiB).
 */
char *tl_path(const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Runs the shell command made from FMT; a failing command fails the test. */
void tl_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Runs SCRIPT with bash in DIR, after ". ../lib.sh" (a helper library the
 * test wrote into DIR's parent), with P set to PKIDIR; its output goes to
 * DIR/sh.out. true on success; false when it exits 77 (a tool is missing:
 * the caller skips). Any other failure prints sh.out and fails the test.
 */
bool tl_script(const char *dir, const char *pkidir, const char *script);

/* The bytes of PATH (NUL-terminated; *n without it), or NULL. */
char *tl_slurp(const char *path, size_t *n);

/* Writes TEXT to DIR/NAME; exits 2 when it cannot (setup, not a test). */
void tl_write(const char *dir, const char *name, const char *text);

/*
 * The certificate store of PKIDIR/CERT_DIR loaded as segel loads it, with
 * PKIDIR's trust.pem and crl/, for domain and the daemon's user (NULL or
 * ""); its problems are in d. tl_store_free frees what tl_store_load made.
 */
struct tl_store {
	struct conf c;
	struct diag d;
	struct pki *p;
	struct certstore *cs;
};
void tl_store_load(struct tl_store *f, const char *pkidir,
    const char *cert_dir, const char *domain, const char *user);
void tl_store_free(struct tl_store *f);

/*
 * A whole message (MSG, N bytes) cut as glue.c passes it to the verifier:
 * the header block into HDR as "Name: value\r\n" lines (no empty line,
 * CRs of the file dropped), the body as received appended to BODY. A
 * failed append fails the test.
 */
void tl_message_split(const char *msg, size_t n, struct sbuf *hdr,
    struct msgbuf *body);

/* Removes DIR, or keeps it and says so when SEGEL_KEEP_TMP is set. */
void tl_rmtree(const char *dir);

/* Runs every test of S and frees the runner: EXIT_SUCCESS or EXIT_FAILURE. */
int tl_run(Suite *s);

#endif
