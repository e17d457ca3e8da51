/*
 * glue.h - the libmilter side of segel-milter, as seen by main.c.
 * glue_open() registers the callbacks and creates the socket (call as root,
 * before dropping privileges); glue_run() serves until stopped.
 */
#ifndef SEGEL_GLUE_H
#define SEGEL_GLUE_H

int glue_open(const char *socket);
int glue_run(void);
void glue_stop(void);

#endif
