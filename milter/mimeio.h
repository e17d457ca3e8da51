/*
 * mimeio.h - GMime plumbing for mimeprep: a stream into a msgbuf, CRLF
 * serialization. Objects are plain
 * GObjects: g_object_unref().
 */
#ifndef SEGEL_MIMEIO_H
#define SEGEL_MIMEIO_H

#include <stdbool.h>
#include <stddef.h>

#include <gmime/gmime.h>

#include "msgbuf.h"

/* A write-only stream appending to mb (not owned; must outlive it), every
 * LF without a CR before it written as CRLF. */
GMimeStream *mimeio_out_new(struct msgbuf *mb);
/* 0, or the errno of the first append that failed. */
int mimeio_out_error(GMimeStream *);

bool mimeio_has_8bit(const void *, size_t);

/* Writes o (without its own header fields when content_only) with CRLF
 * line ends into out; 0, or an errno value. */
int mimeio_write(GMimeObject *o, bool content_only, struct msgbuf *out);

/* A new stream over mb's bytes that outlives mb (a copy in memory, or a
 * duplicate descriptor of its spool file); NULL on failure. */
GMimeStream *mimeio_msgbuf_stream(const struct msgbuf *mb);

#endif
