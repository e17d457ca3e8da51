/*
 * test_man.c - segel.conf(5) against the loader's schema (conf_schema[] in
 * milter/conf.c): every key the loader knows is documented, by its dotted
 * name, as an ".It Ic KEY Pq TYPE, default ..." entry of man/segel.conf.5;
 * every such entry names a key the loader knows; the type and the default
 * written there are the schema's. Read from the table itself, so a key
 * added to the schema without its page fails here, naming the line to add.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_impl.h"
#include "testlib.h"
#include "util.h"

/* One ".It Ic" entry of the page. */
struct entry {
	char *name;	/* the dotted key */
	char *rest;	/* the text after it, e.g. "Pq string, default Qq x" */
	int line;
};

static struct entry *entries;
static size_t n_entries;
static char *page_path;

/* Collects the ".It Ic NAME ..." lines of man/segel.conf.5. */
static void
read_page(void)
{
	char *text, *line, *nl, *sp;
	int lineno = 0;
	size_t len;

	page_path = xasprintf("%s/man/segel.conf.5", tl_srcdir());
	text = tl_slurp(page_path, &len);
	ck_assert_msg(text != NULL, "%s: cannot read", page_path);
	entries = xcalloc(1, sizeof(*entries));
	n_entries = 0;
	for (line = text; line != NULL; line = nl ? nl + 1 : NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		lineno++;
		if (strncmp(line, ".It Ic ", 7) != 0)
			continue;
		entries = xreallocarray(entries, n_entries + 1,
		    sizeof(*entries));
		sp = strchr(line + 7, ' ');
		entries[n_entries].name = sp ? xstrndup(line + 7,
		    (size_t)(sp - line - 7)) : xstrdup(line + 7);
		entries[n_entries].rest = xstrdup(sp ? sp + 1 : "");
		entries[n_entries].line = lineno;
		n_entries++;
	}
	free(text);
}

static void
free_page(void)
{
	size_t i;

	for (i = 0; i < n_entries; i++) {
		free(entries[i].name);
		free(entries[i].rest);
	}
	free(entries);
	entries = NULL;
	n_entries = 0;
	free(page_path);
	page_path = NULL;
}

static const struct entry *
find_entry(const char *name)
{
	size_t i;

	for (i = 0; i < n_entries; i++)
		if (strcmp(entries[i].name, name) == 0)
			return &entries[i];
	return NULL;
}

/* The word segel.conf(5) uses for a schema type. */
static const char *
type_word(enum ctype t)
{
	switch (t) {
	case C_STRING:
	case C_ENUM:	return "string";
	case C_BOOL:	return "boolean";
	case C_INT:	return "integer";
	case C_CIDRS:
	case C_STRLIST:	return "list of strings";
	case C_INTS:	return "list of integers";
	case C_GROUP:	return "group";
	}
	return "?";
}

/* The default as the page writes it: Qq "x", Cm true, 123, Bq. */
static char *
default_markup(const struct conf_key *k)
{
	switch (k->type) {
	case C_STRING:
	case C_ENUM:	return k->defval[0] ? xasprintf("Qq %s", k->defval) :
			    xstrdup("Qq");
	case C_BOOL:	return xasprintf("Cm %s", k->defval);
	case C_INT:	return xstrdup(k->defval);
	case C_CIDRS:
	case C_STRLIST:	return xstrdup("Bq");
	case C_INTS:	return xstrdup(": the list");	/* prose */
	case C_GROUP:	break;
	}
	return xstrdup("");
}

START_TEST(every_schema_key_is_documented)
{
	struct sbuf miss;
	size_t i, n = 0;
	char *def;

	sbuf_init(&miss);
	for (i = 0; i < conf_schema_len; i++) {
		const struct conf_key *k = &conf_schema[i];

		if (k->type == C_GROUP || find_entry(k->name) != NULL)
			continue;
		def = default_markup(k);
		sbuf_printf(&miss, "\n  .It Ic %s Pq %s, default %s", k->name,
		    type_word(k->type), def);
		free(def);
		n++;
	}
	ck_assert_msg(n == 0, "%s lacks %zu key(s) the loader knows; add "
	    "(with a sentence saying what each does):%s", page_path, n,
	    miss.s ? miss.s : "");
	sbuf_free(&miss);
}
END_TEST

START_TEST(every_documented_key_is_known)
{
	struct sbuf bad;
	const struct conf_key *k;
	size_t i, j, n = 0;

	sbuf_init(&bad);
	for (i = 0; i < n_entries; i++) {
		k = conf_schema_find(entries[i].name);
		if (k == NULL || k->type == C_GROUP) {
			sbuf_printf(&bad, "\n  line %d: %s: %s", entries[i].line,
			    entries[i].name, k == NULL ? "unknown to the loader"
			    : "a group, not a key");
			n++;
		}
		for (j = 0; j < i; j++)
			if (strcmp(entries[j].name, entries[i].name) == 0) {
				sbuf_printf(&bad, "\n  line %d: %s: documented "
				    "twice", entries[i].line, entries[i].name);
				n++;
			}
	}
	ck_assert_msg(n == 0, "%s:%s", page_path, bad.s ? bad.s : "");
	ck_assert_msg(n_entries > 0, "%s: no .It Ic entries", page_path);
	sbuf_free(&bad);
}
END_TEST

/*
 * "Pq TYPE, default VALUE": the type must be the schema's; VALUE, when it
 * is markup (Qq, Cm, a number, Bq) rather than prose after a colon, must be
 * the schema's default.
 */
START_TEST(types_and_defaults_match)
{
	struct sbuf bad;
	const struct conf_key *k;
	char *want_t, *want_d, *got_d;
	size_t i, n = 0, compared = 0;
	const char *r;

	sbuf_init(&bad);
	for (i = 0; i < n_entries; i++) {
		if ((k = conf_schema_find(entries[i].name)) == NULL ||
		    k->type == C_GROUP)
			continue;	/* reported by the test above */
		r = entries[i].rest;
		want_t = xasprintf("Pq %s, default", type_word(k->type));
		if (strncmp(r, want_t, strlen(want_t)) != 0) {
			sbuf_printf(&bad, "\n  %s: \"%s\": the loader's type "
			    "is \"%s\"", entries[i].name, r, want_t);
			n++;
			free(want_t);
			continue;
		}
		got_d = xstrdup(r + strlen(want_t));
		free(want_t);
		if (got_d[0] == ':') {	/* prose, e.g. the footer sentence */
			free(got_d);
			continue;
		}
		want_d = default_markup(k);
		if (strcmp(got_d[0] == ' ' ? got_d + 1 : got_d, want_d) != 0) {
			sbuf_printf(&bad, "\n  %s: default \"%s\", the loader's "
			    "is \"%s\"", entries[i].name, got_d, want_d);
			n++;
		}
		compared++;
		free(got_d);
		free(want_d);
	}
	ck_assert_msg(n == 0, "%s:%s", page_path, bad.s ? bad.s : "");
	ck_assert_msg(compared > 0, "%s: no default compared", page_path);
	sbuf_free(&bad);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("man");
	TCase *tc = tcase_create("segel.conf.5");

	tcase_add_checked_fixture(tc, read_page, free_page);
	tcase_add_test(tc, every_schema_key_is_documented);
	tcase_add_test(tc, every_documented_key_is_known);
	tcase_add_test(tc, types_and_defaults_match);
	suite_add_tcase(s, tc);
	return tl_run(s);
}
