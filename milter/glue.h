/*
 * glue.h - the libmilter side of segel-milter, as seen by main.c.
 * glue_open() registers the callbacks and creates the socket (call as root,
 * before dropping privileges); glue_run() serves until stopped.
 */
#ifndef SEGEL_GLUE_H
#define SEGEL_GLUE_H

/*
 * The protocol steps segel negotiates (SMFIP_*, from <libmilter/mfapi.h>):
 * the MTA waits for a reply only where segel can refuse (MAIL, RCPT, end of
 * headers, end of message). Connect, header and body events are sent
 * without waiting for one (SMFIP_NR_*): their callbacks only gather, and a
 * failure there is answered at the next event that replies. HELO, DATA and
 * unknown commands are not sent at all. tests/bench/nullmilter.c uses the
 * same set, so that its floor is segel's.
 */
#define GLUE_PROTO	(SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NOUNKNOWN | \
	    SMFIP_NR_CONN | SMFIP_NR_HDR | SMFIP_NR_BODY)

int glue_open(const char *socket);
int glue_run(void);
void glue_stop(void);

#endif
