/*
 * addr.h - the one reading of mail addresses: envelope arguments as RFC
 * 5321 and Postfix read them, From values as RFC 5322 and a mail reader
 * show them, and the per-message From facts every rule reads (the TLS
 * rule, signing, verification, tagging, the log and the audit record).
 *
 * Functions returning char * return a string the caller frees. The From
 * functions decode encoded-words with GMime: call g_mime_init() first.
 */
#ifndef SEGEL_ADDR_H
#define SEGEL_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Past the (nested) RFC 5322 comment opening at p ('('); NULL when it is
 * not closed. */
const char *addr_skip_comment(const char *p);
/*
 * The bare address of an envelope or header value such as "<Alice@Example>",
 * "Alice <alice@x>" or "alice@x", lower-cased; NULL when there is not
 * exactly one address. Lenient: see addr_from_mailbox for the strict one.
 */
char *addr_normalize(const char *);
/* Count of addresses in a From header value (commas outside quotes/<>). */
size_t addr_count(const char *);
/* True when addr's domain is exactly domain (case-insensitive). */
bool addr_in_domain(const char *addr, const char *domain);
/* Case-insensitive equality of two addresses. */
bool addr_equal(const char *, const char *);

/*
 * Whether an envelope address is in domain as RFC 5321 and Postfix read it:
 * the domain after the last '@' outside a quoted local part, comments and
 * white space ignored, a non-ASCII domain compared in its IDNA form. v may
 * be raw ("<@relay:\"al ice\"@d>", the MAIL or RCPT argument) or resolved
 * by the MTA ({rcpt_addr}, {mail_addr}).
 */
bool addr_env_in_domain(const char *v, const char *domain);

/*
 * One From field as every rule reads it, filled once when the header
 * arrives (addr_from_add).
 */
struct from_field {
	char *value;		/* as received: LF between folded lines */
	char *addr;		/* the address when the value is one mailbox
				   ("[phrase] <addr> [comments]" or "addr
				   [comments]") and nothing else; else NULL */
	bool display_ok;	/* addr set, and nothing a reader shows of the
				   value (encoded-words decoded) names another */
	char *ours;		/* an address in the domain a reader could take
				   the value for (mailbox, or any address-like
				   word of its display name); NULL: none */
};

/* Every From field of a message, in order. Zeroed is empty. */
struct from_facts {
	struct from_field *field;
	size_t n;
	size_t first_ours;	/* index of the first field with ours; n: none */
};

/* Reads one more From value (of a message claiming domain) into ff. */
void addr_from_add(struct from_facts *ff, const char *value,
    const char *domain);
void addr_from_free(struct from_facts *ff);

/*
 * The readings the rules take from the facts (owned by ff):
 * addr_from_single: the one From address, when there is exactly one From
 *   field and it is one mailbox (the signing rule's sender and the
 *   certificate looked up);
 * addr_from_signer: the same, and only when its display shows no other
 *   address (what a signature is bound to, outbound and inbound);
 * addr_from_ours: the first address of any From field a reader could take
 *   for one of the domain (the TLS rule, unsigned own-domain mail);
 * addr_from_shown: what the log and the audit record name as the sender:
 *   the single address, else the domain address, else NULL.
 */
const char *addr_from_single(const struct from_facts *ff);
const char *addr_from_signer(const struct from_facts *ff);
const char *addr_from_ours(const struct from_facts *ff);
const char *addr_from_shown(const struct from_facts *ff);

/* One From value's addr_from_signer reading, or NULL (for a From inside
 * signed content). */
char *addr_from_mailbox(const char *from_value);
/* One From value's ours reading, or NULL. */
char *addr_from_domain_address(const char *from_value, const char *domain);

#endif
