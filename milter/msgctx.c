/*
 * msgctx.c - per-message state (see msgctx.h). Limits: limits.header_count,
 * limits.header_bytes and limits.message_size; passing one marks the
 * message MSG_TOO_BIG and stops storing, so memory stays bounded.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "msgctx.h"

struct msgctx *
msgctx_new(const struct conf *c)
{
	struct msgctx *m = xcalloc(1, sizeof(*m));

	sbuf_init(&m->headers);
	sbuf_init(&m->content_headers);
	m->body = msgbuf_new(c->memory_threshold, c->tmp_dir);
	clock_gettime(CLOCK_MONOTONIC, &m->t0);
	return m;
}

static void
refs_free(struct hdr_ref *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r[i].name);
	free(r);
}

void
msgctx_free(struct msgctx *m)
{
	if (m == NULL)
		return;
	free(m->mail_from);
	sbuf_free(&m->headers);
	sbuf_free(&m->content_headers);
	free(m->content_type);
	refs_free(m->content_refs, m->n_content_refs);
	refs_free(m->counts, m->cap_counts);
	free(m->ar_ours);
	addr_from_free(&m->from);
	free(m->message_id);
	free(m->subject);
	free(m->date);
	msgbuf_free(m->body);
	free(m);
}

static size_t
name_hash(const char *name)
{
	size_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)tolower((unsigned char)*name)) * 16777619u;
	return h;
}

static void
counts_grow(struct msgctx *m)
{
	struct hdr_ref *old = m->counts;
	size_t oldcap = m->cap_counts, i, j;

	m->cap_counts = oldcap ? oldcap * 2 : 64;
	m->counts = xcalloc(m->cap_counts, sizeof(*m->counts));
	for (i = 0; i < oldcap; i++) {
		if (old[i].name == NULL)
			continue;
		j = name_hash(old[i].name) & (m->cap_counts - 1);
		while (m->counts[j].name != NULL)
			j = (j + 1) & (m->cap_counts - 1);
		m->counts[j] = old[i];
	}
	free(old);
}

/*
 * The 1-based index of this occurrence of name among headers so named.
 * Hashed, so that thousands of distinct names cost linear time.
 */
static int
count_name(struct msgctx *m, const char *name)
{
	size_t j;

	if (2 * (m->n_counts + 1) > m->cap_counts)
		counts_grow(m);
	j = name_hash(name) & (m->cap_counts - 1);
	for (; m->counts[j].name != NULL; j = (j + 1) & (m->cap_counts - 1))
		if (strcasecmp(m->counts[j].name, name) == 0)
			return ++m->counts[j].index;
	m->counts[j].name = xstrdup(name);
	m->counts[j].index = 1;
	m->n_counts++;
	return 1;
}

/* Appends "name: value" with CRLF line ends to b. */
static void
add_line(struct sbuf *b, const char *name, const char *value)
{
	const char *p;

	sbuf_adds(b, name);
	sbuf_adds(b, ": ");
	for (p = value; *p != '\0'; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			sbuf_add(b, "\r\n", 2);
		else
			sbuf_add(b, p, 1);
	}
	sbuf_add(b, "\r\n", 2);
}

static void
set_once(char **field, const char *value)
{
	if (*field == NULL)
		*field = xstrdup(value);
}

void
msgctx_header(struct msgctx *m, const struct conf *c, const char *name,
    const char *value, const char *authserv_id)
{
	int idx;

	if (m->state != MSG_OK)
		return;
	if (++m->n_headers > c->max_headers ||
	    m->headers.len + strlen(name) + strlen(value) + 4 >
	    c->max_header_bytes) {
		m->state = MSG_TOO_BIG;
		return;
	}
	idx = count_name(m, name);
	add_line(&m->headers, name, value);
	if (strncasecmp(name, "Content-", 8) == 0) {
		add_line(&m->content_headers, name, value);
		m->content_refs = xreallocarray(m->content_refs,
		    m->n_content_refs + 1, sizeof(*m->content_refs));
		m->content_refs[m->n_content_refs].name = xstrdup(name);
		m->content_refs[m->n_content_refs].index = idx;
		m->n_content_refs++;
		if (strcasecmp(name, "Content-Type") == 0) {
			free(m->content_type);
			m->content_type = xstrdup(value);
			m->n_content_type++;
		}
	} else if (strcasecmp(name, "From") == 0) {
		addr_from_add(&m->from, value, c->domain);
	} else if (strcasecmp(name, "Message-ID") == 0)
		set_once(&m->message_id, value);
	else if (strcasecmp(name, "Subject") == 0)
		set_once(&m->subject, value);
	else if (strcasecmp(name, "Date") == 0) {
		m->n_date++;
		set_once(&m->date, value);
	}
	else if (strcasecmp(name, "MIME-Version") == 0)
		m->has_mime_version = true;
	else if (strcasecmp(name, "Authentication-Results") == 0) {
		if (authres_is_ours(value, authserv_id)) {
			m->ar_ours = xreallocarray(m->ar_ours, m->n_ar_ours + 1,
			    sizeof(*m->ar_ours));
			m->ar_ours[m->n_ar_ours++] = idx;
		}
	}
}

void
msgctx_body(struct msgctx *m, const struct conf *c, const void *p, size_t n)
{
	if (m->state != MSG_OK)
		return;
	if (msgbuf_len(m->body) + n > c->max_message_size) {
		m->state = MSG_TOO_BIG;
		msgbuf_reset(m->body);
		return;
	}
	if (msgbuf_append(m->body, p, n) != 0)
		m->state = MSG_IO_ERROR;
}

char *
msgctx_signed_headers(const struct msgctx *m, const char *content_type)
{
	struct sbuf out;
	const char *p = m->headers.s ? m->headers.s : "", *eol, *next;
	bool skip = false;

	sbuf_init(&out);
	/* Walk logical header fields: a line starting with WSP continues. */
	for (; *p != '\0'; p = next) {
		eol = strstr(p, "\r\n");
		next = eol ? eol + 2 : p + strlen(p);
		if (*p != ' ' && *p != '\t')
			skip = strncasecmp(p, "Content-", 8) == 0;
		if (!skip)
			sbuf_add(&out, p, (size_t)(next - p));
	}
	if (!m->has_mime_version)
		sbuf_adds(&out, "MIME-Version: 1.0\r\n");
	sbuf_adds(&out, "Content-Type: ");
	for (p = content_type; *p != '\0'; p++) {
		if (*p == '\n')
			sbuf_add(&out, "\r\n", 2);
		else
			sbuf_add(&out, p, 1);
	}
	sbuf_adds(&out, "\r\n");
	return sbuf_steal(&out);
}
