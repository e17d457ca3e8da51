/*
 * mimeio.h - GMime plumbing for mimeprep: a stream into a msgbuf and a
 * "From " armouring filter. Objects are plain GObjects: g_object_unref().
 */
#ifndef SEGEL_MIMEIO_H
#define SEGEL_MIMEIO_H

#include <stdbool.h>
#include <stddef.h>

#include <gmime/gmime.h>

#include "msgbuf.h"

/* A write-only stream appending to mb (not owned; must outlive it). */
GMimeStream *mimeio_out_new(struct msgbuf *mb);
/* 0, or the errno of the first append that failed. */
int mimeio_out_error(GMimeStream *);

/*
 * "From " at the start of a line becomes "=46rom " (for quoted-printable
 * output). GMime's own GMIME_FILTER_FROM_MODE_ARMOR drops a last line
 * shorter than five octets that starts with 'F', so it is not used.
 */
GMimeFilter *mimeio_from_new(void);

bool mimeio_has_8bit(const void *, size_t);

#endif
