/*
 * tests/bench/nullmilter.c - a libmilter milter that does nothing: it asks
 * for every event segel asks for (connect ... headers, body, end of message)
 * and answers "continue" to each, changing nothing.  The benchmark runs it
 * as a case of its own: the CPU and throughput floor of any libmilter
 * daemon on this machine, below which segel cannot go without leaving
 * libmilter.
 *
 *   nullmilter SOCKET        e.g. unix:/path/null.sock (libmilter syntax)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

static sfsistat
nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	(void)ctx, (void)host, (void)sa;
	return SMFIS_CONTINUE;
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
	return SMFIS_CONTINUE;
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
	return SMFIS_CONTINUE;
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
};

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: nullmilter unix:SOCKET\n");
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
