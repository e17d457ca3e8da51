/*
 * testlib.h - what the unit test programs share: where the sources are,
 * the test PKI (tests/pki/gen) in a temporary folder, loading it as segel
 * does, and running a Check suite. Linked into every build/tests/test_*.
 */
#ifndef SEGEL_TESTLIB_H
#define SEGEL_TESTLIB_H

#include <check.h>

#include "pki.h"

/* SEGEL_SRCDIR, or "." (the tests run from the repository root). */
const char *tl_srcdir(void);

/*
 * Runs tests/pki/gen into DIR, quietly. 0 when the generator succeeded and
 * DIR/MUST_EXIST is there; otherwise says why on stderr.
 */
int tl_gen_pki(const char *dir, const char *must_exist);

/* The PKI of DIR as segel loads it: DIR/trust.pem, CRLs from DIR/CRLDIR. */
struct pki *tl_load_pki(const char *dir, const char *crldir);

/* Runs the shell command made from FMT; a failing command fails the test. */
void tl_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Removes DIR, or keeps it and says so when SEGEL_KEEP_TMP is set. */
void tl_rmtree(const char *dir);

/* Runs every test of S and frees the runner: EXIT_SUCCESS or EXIT_FAILURE. */
int tl_run(Suite *s);

#endif
