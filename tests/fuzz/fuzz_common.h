/*
 * fuzz_common.h - helpers shared by the libFuzzer targets of tests/fuzz/.
 */
#ifndef SEGEL_FUZZ_COMMON_H
#define SEGEL_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "msgbuf.h"

/* The build PKI folder: $SEGEL_FUZZ_PKI, else build/fuzz/pki. */
const char *fuzz_pki_dir(void);
/*
 * A new private folder $FUZZ_TMPDIR/segel-fuzz-NAME.XXXXXX (default /tmp;
 * the Makefile points it at build/fuzz/tmp so that runs killed by a finding
 * leave nothing in /tmp). Aborts on failure. Caller frees.
 */
char *fuzz_tmpdir(const char *name);

/* "DIR/NAME" in a static buffer (one of 4 rotating). */
const char *fuzz_pki_path(const char *name);

/*
 * Splits data at the first empty line (CRLF CRLF or LF LF) into a
 * NUL-terminated header block (the terminating line end kept, the empty
 * line dropped) and a msgbuf holding the rest. Without an empty line all
 * of data is the header block and the body is empty. Caller frees both.
 */
void fuzz_split(const uint8_t *data, size_t size, size_t threshold,
    const char *tmp_dir, char **headers, struct msgbuf **body);

/* Aborts (a crash for libFuzzer) with a message when cond is false. */
#define FUZZ_ASSERT(cond, ...) do { if (!(cond)) \
	fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); } while (0)
void fuzz_fail(const char *file, int line, const char *cond,
    const char *fmt, ...) __attribute__((noreturn, format(printf, 4, 5)));

#endif
