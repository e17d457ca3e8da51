/*
 * msgbuf.h - a byte buffer that stays in memory up to a threshold and
 * spools to an unlinked temporary file (mode 0600) beyond it.
 *
 * Used for message bodies on the way in and for signed bodies on the way out,
 * so that a large message is never held whole in memory. Not thread-safe:
 * one owner at a time. msgbuf_free() accepts NULL.
 */
#ifndef SEGEL_MSGBUF_H
#define SEGEL_MSGBUF_H

#include <stddef.h>
#include <sys/types.h>

struct msgbuf;

/* tmp_dir NULL means $TMPDIR or /tmp. Never fails (allocation aborts). */
struct msgbuf *msgbuf_new(size_t threshold, const char *tmp_dir);
void msgbuf_free(struct msgbuf *);
/* Drops the content, keeps the settings. */
void msgbuf_reset(struct msgbuf *);

/* 0, or -1 with errno set (e.g. ENOSPC when spooling fails). */
int msgbuf_append(struct msgbuf *, const void *, size_t);
size_t msgbuf_len(const struct msgbuf *);

/* The content when it is in memory (NUL-terminated), else NULL. */
const char *msgbuf_mem(const struct msgbuf *);
/* The spool file's descriptor (owned by the msgbuf), or -1 when in memory. */
int msgbuf_fd(const struct msgbuf *);
/* Reads up to n bytes at off; returns bytes read, 0 at end, -1 on error. */
ssize_t msgbuf_pread(const struct msgbuf *, void *, size_t n, off_t off);

/* The folder it spools to. */
const char *msgbuf_tmp_dir(const struct msgbuf *);
/* An unlinked temporary file (mode 0600) in dir, open read-write; -1 with
 * errno set. The caller closes it. */
int msgbuf_tmpfile(const char *dir);

#endif
