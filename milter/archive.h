/*
 * archive.h - the archive of signed originals (Pasal 12 (1)).
 *
 * archive_store() writes header block + CRLF + body to
 * DIR/YYYY/MM/DD/YYYYMMDDTHHMMSSZ_QUEUEID_MESSAGEID.eml (Message-ID reduced
 * to safe characters), through an unnamed (O_TMPFILE) or temporary file
 * that is fsync'ed and then linked to that name, never replacing one, and
 * the folder fsync'ed: a crash leaves either the whole file or none. Files are 0600 and folders 0700: segel's user alone reads
 * them (the MTA has the socket only, THREATS.md).
 */
#ifndef SEGEL_ARCHIVE_H
#define SEGEL_ARCHIVE_H

#include <time.h>

#include "msgbuf.h"
#include "util.h"

/* headers: "Name: value\r\n" lines. Returns 0, or -1 with err set. The
 * archived file's path is stored in *path_out when not NULL (caller frees). */
int archive_store(const char *dir, time_t when, const char *queue_id,
    const char *message_id, const char *headers, const struct msgbuf *body,
    char **path_out, struct sbuf *err);

/* The hex SHA-256 of the file at path into hex[65], read back from disk
 * (what the audit record names, issue 13). 0, or -1 with err set. */
int archive_sha256(const char *path, char hex[65], struct sbuf *err);

/* path below dir as written in the audit record (no leading dir/). */
const char *archive_relative(const char *dir, const char *path);

#endif
