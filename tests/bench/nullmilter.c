/*
 * tests/bench/nullmilter.c - a libmilter milter that does nothing: it asks
 * for every event segel asks for (connect ... headers, body, end of message),
 * negotiates the protocol steps segel negotiates (GLUE_PROTO: no reply to
 * connect, header and body events; no HELO, DATA or unknown commands) and
 * lets everything pass, changing nothing.  The benchmark runs it as a case
 * of its own: the CPU and throughput floor of a libmilter daemon on this
 * machine, below which segel cannot go without leaving libmilter.
 *
 *   nullmilter [-a] SOCKET   e.g. unix:/path/null.sock (libmilter syntax)
 *
 * -a: negotiate nothing, and answer "continue" to every event, HELO and
 * each header included (a milter written the simplest way; what segel did
 * before it negotiated GLUE_PROTO).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

#include "../../milter/glue.h"

static int reply_all;	/* -a */

static sfsistat
nm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx, (void)f2, (void)f3;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY);
	*pf1 = reply_all ? 0 : f1 & GLUE_PROTO;
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)ctx, (void)host, (void)sa;
	return reply_all ? SMFIS_CONTINUE : SMFIS_NOREPLY;
}

static sfsistat
nm_args(SMFICTX *ctx, char **argv)
{
	(void)ctx, (void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx, (void)name, (void)value;
	return reply_all ? SMFIS_CONTINUE : SMFIS_NOREPLY;
}

static sfsistat
nm_ctx(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
nm_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx, (void)chunk, (void)len;
	return reply_all ? SMFIS_CONTINUE : SMFIS_NOREPLY;
}

static struct smfiDesc nm_desc = {
	.xxfi_name = "nullmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY,
	.xxfi_connect = nm_connect,
	.xxfi_envfrom = nm_args,
	.xxfi_envrcpt = nm_args,
	.xxfi_header = nm_header,
	.xxfi_eoh = nm_ctx,
	.xxfi_body = nm_body,
	.xxfi_eom = nm_ctx,
	.xxfi_abort = nm_ctx,
	.xxfi_close = nm_ctx,
	.xxfi_negotiate = nm_negotiate,
};

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "-a") == 0) {
		reply_all = 1;
		argv++, argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: nullmilter [-a] unix:SOCKET\n");
		return 2;
	}
	umask(0);
	if (smfi_setconn(argv[1]) != MI_SUCCESS ||
	    smfi_register(nm_desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "nullmilter: cannot open %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
