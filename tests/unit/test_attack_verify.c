/*
 * test_attack_verify.c - adversarial cases for inbound verification: what
 * an outside sender, or a partner whose certificate (issued by the trusted
 * test BSrE CA) carries hostile text, can make segel write. Each case is
 * verified as the gateway does (From as do_verify derives it) and the
 * Authentication-Results value segel would write is checked twice: by
 * structure (printable ASCII, folded only with LF TAB, lines < 998) and by
 * an independent parser, Debian's python3-authres, which must read exactly
 * one smime result with the expected value and identifier.
 *
 * Certificates with hostile fields are issued by mkcert.py (Python
 * cryptography, validation of names bypassed on purpose); messages are
 * signed with the openssl command, which can add several signers.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/err.h>

#include "authres.h"
#include "conf.h"
#include "diag.h"
#include "msgbuf.h"
#include "msgctx.h"
#include "pki.h"
#include "policy.h"
#include "testlib.h"
#include "util.h"
#include "verify.h"

#define ID "mail.tanjungpinangkota.go.id"
#define ALICE "alice@tanjungpinangkota.go.id"
#define BOB "bob@tanjungpinangkota.go.id"
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char *pkidir;		/* tmpdir/pki */
static char tmpdir[] = "/tmp/segel-test-attack.XXXXXX";
static struct pki *pki;

/* Shell helpers; P is the PKI, S its staff folder. */
static const char shlib[] =
    "set -e\n"
    "S=$P/staff; A=alice@tanjungpinangkota.go.id; B=bob@tanjungpinangkota.go.id\n"
    "hdr() { printf 'From: %s\\nTo: kepala@tanjungpinangkota.go.id\\n"
    "Subject: Surat resmi\\nMessage-ID: <t@x>\\n' \"$1\"; }\n"
    "content() { printf 'Content-Type: text/plain; charset=us-ascii\\r\\n\\r\\n"
    "Halo Bapak/Ibu,\\r\\nIni surat resmi.\\r\\n' > content.txt; }\n"
    "crlf() { sed -i 's/\\r*$/\\r/' \"$1\"; }\n"
    /* sign [openssl cms options]: signs content.txt */
    "sign() { content; openssl cms -sign -in content.txt -certfile $P/chain.pem -binary \"$@\"; }\n"
    "as() { printf -- '-signer %s -inkey %s' \"$1.pem\" \"$1.key\"; }\n"
    "staff() { u=$1; shift; sign $(as $S/$u) \"$@\"; }\n"
    "msg() { f=$1; shift; { hdr \"$f\"; \"$@\"; } > m.eml; }\n"
    /* mkcert NAME PROFILE: NAME.pem, NAME.key (see mkcert.py) */
    "mkcert() { /usr/bin/python3 ../mkcert.py $P \"$@\"; }\n"
    /* mixed FILE PART2-HEADERS PART2-BODY: FILE first in a multipart/mixed */
    /* bnd: the multipart/signed boundary of m.eml */
    "bnd() { sed -n 's/.*boundary=\"\\([^\"]*\\)\".*/\\1/p' m.eml | head -1; }\n"
    "mixed() { printf 'MIME-Version: 1.0\\nContent-Type: multipart/mixed; boundary=LIST\\n\\n--LIST\\n'; "
    "cat $1; printf '\\n--LIST\\n%s\\n\\n%s\\n--LIST--\\n' \"$2\" \"$3\"; }\n";

/*
 * mkcert.py PKI NAME PROFILE: a P-256 certificate for e-mail signing,
 * issued by PKI's BSrE CA (trusted) unless the profile names another
 * issuer, with the profile's subject and subjectAltName.
 */
static const char mkcert[] =
    "import sys, datetime\n"
    "from cryptography import x509\n"
    "from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID\n"
    "from cryptography.x509.name import _ASN1Type\n"
    "from cryptography.hazmat.primitives import hashes, serialization\n"
    "from cryptography.hazmat.primitives.asymmetric import ec, rsa\n"
    "P, out, prof = sys.argv[1:4]\n"
    "A = 'alice@tanjungpinangkota.go.id'\n"
    "INJ = 'mail.tanjungpinangkota.go.id; smime=pass'\n"
    "CN, O, EM, EMU = (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME,\n"
    "    NameOID.EMAIL_ADDRESS, 'emailutf8')\n"
    "R, D, U = x509.RFC822Name, x509.DNSName, x509.UniformResourceIdentifier\n"
    "profiles = {\n"
    " 'paren': ([(CN, 'Evil) ; smime=pass (x'), (O, 'O\"\\\\;(( ')], [(R, A)]),\n"
    " 'crlf': ([(CN, 'Eve\\r\\nAuthentication-Results: ' + INJ),\n"
    "    (O, 'x\\n\\tsmime=pass\\r\\n\\r\\nbody')], [(R, A)]),\n"
    " 'nul': ([(CN, 'Ali\\x00ce) smime=pass (')], [(R, A)]),\n"
    " 'ctl': ([(CN, ''.join(chr(i) for i in range(1, 32)) + '\\x7f;\"\\\\')], [(R, A)]),\n"
    " 'utf8': ([(CN, 'Wali\\u200bkota \\u202eTanjungpinang \\u00e9)'),\n"
    "    (O, '\\u0416\\u00a0\\u2028x')], [(R, A)]),\n"
    " 'long': ([(CN, 'x' * 3000 + ')'), (O, '(' * 3000)], [(R, A)]),\n"
    " 'subjemail': ([(CN, 'Evil'), (EM, A)], []),\n"
    " 'bademail': ([(CN, 'Evil'), (EM, 'a) smime=pass (\\r\\nX: y\"\\\\@kepriprov.go.id')], []),\n"
    " 'badsan': ([(CN, 'Evil')], [(R, 'x@y; smime=pass (\\r\\n\\t)\"')]),\n"
    " 'longsan': ([(CN, 'Evil')], [(R, 'a' * 3000 + '@kepriprov.go.id')]),\n"
    " 'multi': ([(CN, 'Evil')], [(R, 'evil@kepriprov.go.id'), (R, A)]),\n"
    " 'upper': ([(CN, 'Alice')], [(R, A.upper())]),\n"
    " 'idn': ([(CN, 'Alice')], [(R, 'alice@xn--tanjungpinangkta-rcj.go.id')]),\n"
    " 'othertypes': ([(CN, 'Evil')], [(D, A), (U, 'mailto:' + A)]),\n"
    " 'noaddr': ([(CN, 'Walikota Tanjungpinang <' + A + '>')], []),\n"
    " 'nulsan': ([(CN, 'Evil')], [(R, A + '\\x00.evil.example')]),\n"
    " 'utf8email': ([(CN, 'Evil'), (EMU, A)], []),\n"
    " 'outside': ([(CN, 'Not Alice'), (EM, A)], [(R, A)]),\n"
    " 'hostileca': ([(CN, 'Evil'), (EM, A)], [(R, A)]),\n"
    " 'eqpass': ([(CN, 'x smime=pass'), (EM, 'smime=pass@evil.example')], [(R, 'smime=pass@evil.example')]),\n"
    " 'eqpass2': ([(CN, 'Dkim=Pass'), (EM, 'smime=PASS@kepriprov.go.id')], []),\n"
    " 'rsa1024': ([(CN, 'Old Key'), (EM, A)], [(R, A)]),\n"
    " 'rsa2048': ([(CN, 'New Key'), (EM, A)], [(R, A)]),\n"
    " 'mallory': ([(CN, 'Eve'), (EM, 'eve@kepriprov.go.id')], [(R, 'eve@kepriprov.go.id')]),\n"
    "}\n"
    "subj, san = profiles[prof]\n"
    "def name(pairs):\n"
    "    l = []\n"
    "    for oid, v in pairs:\n"
    "        if oid == EMU:\n"
    "            l.append(x509.NameAttribute(EM, v, _type=_ASN1Type.UTF8String))\n"
    "        else:\n"
    "            l.append(x509.NameAttribute(oid, v, _validate=False))\n"
    "    return x509.Name(l)\n"
    "def load(p):\n"
    "    return (x509.load_pem_x509_certificate(open(p + '.pem', 'rb').read()),\n"
    "        serialization.load_pem_private_key(open(p + '.key', 'rb').read(), None))\n"
    "now = datetime.datetime.utcnow()\n"
    "ca, cakey = load(P + '/bsre')\n"
    "if prof in ('outside', 'eqpass'):\n"
    "    ca, cakey = load(P + '/outside/ca')\n"
    "if prof == 'hostileca':\n"
    "    cakey = ec.generate_private_key(ec.SECP256R1())\n"
    "    cn = name([(CN, 'CA \"\\\\ ) smime=pass (\\r\\n\\tx'), (O, '\\u00e9;,+=<>#')])\n"
    "    ca = (x509.CertificateBuilder().subject_name(cn).issuer_name(cn)\n"
    "        .public_key(cakey.public_key()).serial_number(7)\n"
    "        .not_valid_before(now - datetime.timedelta(days=1))\n"
    "        .not_valid_after(now + datetime.timedelta(days=30))\n"
    "        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)\n"
    "        .sign(cakey, hashes.SHA256()))\n"
    "k = ec.generate_private_key(ec.SECP256R1())\n"
    "if prof.startswith('rsa'):\n"
    "    k = rsa.generate_private_key(public_exponent=65537, key_size=int(prof[3:]))\n"
    "b = (x509.CertificateBuilder().subject_name(name(subj)).issuer_name(ca.subject)\n"
    "    .public_key(k.public_key()).serial_number(x509.random_serial_number())\n"
    "    .not_valid_before(now - datetime.timedelta(days=1))\n"
    "    .not_valid_after(now + datetime.timedelta(days=30))\n"
    "    .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)\n"
    "    .add_extension(x509.KeyUsage(True, True, False, False, False, False,\n"
    "        False, False, False), True)\n"
    "    .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False))\n"
    "if san:\n"
    "    b = b.add_extension(x509.SubjectAlternativeName(\n"
    "        [t._init_without_validation(v) for t, v in san]), False)\n"
    "c = b.sign(cakey, hashes.SHA256())\n"
    "open(out + '.pem', 'wb').write(c.public_bytes(serialization.Encoding.PEM))\n"
    "open(out + '.key', 'wb').write(k.private_bytes(serialization.Encoding.PEM,\n"
    "    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))\n";

/*
 * chk.py WANT IDENT < value: python3-authres reads "Authentication-Results:"
 * + value (unfolded) as exactly one result of ours, for method smime with
 * result WANT ("skip": the no-result form) and identifier IDENT ("-": not
 * checked, "0": none).
 */
static const char chkpy[] =
    "import sys, authres\n"
    "want, ident = sys.argv[1:3]\n"
    "v = sys.stdin.read().replace('\\n', ' ')\n"
    "a = authres.all_features().parse('Authentication-Results: ' + v)\n"
    "if a.authserv_id.lower() != '" ID "':\n"
    "    sys.exit('authserv-id %r in %r' % (a.authserv_id, v))\n"
    "if want == 'skip':\n"
    "    if a.results:\n"
    "        sys.exit('results %r in %r' % (a.results, v))\n"
    "    sys.exit(0)\n"
    "if len(a.results) != 1 or a.results[0].method != 'smime':\n"
    "    sys.exit('want one smime result: %r in %r' % (a.results, v))\n"
    "r = a.results[0]\n"
    "if r.result != want:\n"
    "    sys.exit('result %s, want %s: %r' % (r.result, want, v))\n"
    "p = [(x.type, x.name) for x in r.properties]\n"
    "if len(p) != len(set(p)):\n"
    "    sys.exit('repeated property: %r' % v)\n"
    "gi = [x.value for x in r.properties if x.name == 'smime-identifier']\n"
    "if ident == '0' and gi or ident not in ('-', '0') and gi != [ident]:\n"
    "    sys.exit('identifier %r, want %s: %r' % (gi, ident, v))\n";

/*
 * The header block as glue.c passes it ("Name: value\r\n" lines, no empty
 * line), the body as received; verified with From as do_verify derives it
 * from the From header values (one per line of from_hdr).
 */
static void
verify_file(const char *path, const char *from_hdr, struct verify_result *res)
{
	struct msgbuf *mb = msgbuf_new(1 << 20, NULL);
	struct sbuf h;
	char *msg, *from = NULL;
	size_t n;

	ck_assert_ptr_nonnull((msg = tl_slurp(path, &n)));
	sbuf_init(&h);
	tl_message_split(msg, n, &h, mb);
	if (from_hdr != NULL && strchr(from_hdr, '\n') == NULL)
		from = policy_from_address(from_hdr);
	(void)smime_verify(pki, h.s != NULL ? h.s : "", mb, from, time(NULL),
	    res);
	ck_assert_int_eq(ERR_peek_error(), 0);
	free(from);
	sbuf_free(&h);
	msgbuf_free(mb);
	free(msg);
}

/*
 * "=" followed by a result word, outside quoted-pairs: what a filter that
 * only searches the field for "smime=pass" (a Sieve :contains test) takes
 * for a result. Exactly one in a field of ours, the real one.
 */
static int
result_looks(const char *v)
{
	static const char *const w[] = { "pass", "fail", "softfail", "neutral",
	    "none", "policy", "temperror", "permerror", NULL };
	const char *p;
	int i, k = 0;

	for (p = strchr(v, '='); p != NULL; p = strchr(p + 1, '='))
		for (i = 0; w[i] != NULL; i++)
			if (p[-1] != '\\' && strncasecmp(p + 1, w[i], strlen(w[i])) == 0) {
				k++;
				break;
			}
	return k;
}

/*
 * The field segel would write for res: printable ASCII folded with LF TAB
 * only, every line < 998 with the field name, one thing that looks like a
 * result, and python3-authres reads it as the expected result (want:
 * "pass", ..., "skip").
 */
static void
check_field(const char *dir, const struct verify_result *res,
    const char *ident)
{
	char *v = authres_format(ID, res), *path, *cmd;
	const char *p, *line = v;
	FILE *f;
	int rc;

	for (p = v; *p != '\0'; p++) {
		if (*p == '\n') {
			ck_assert_msg(p[1] == '\t', "LF without TAB: [%s]", v);
			ck_assert_uint_lt(p - line + strlen("Authentication-Results:"), 998);
			line = ++p;	/* the TAB */
			continue;
		}
		ck_assert_msg(*p >= 0x20 && *p < 0x7f && *p != '\r',
		    "byte 0x%02x in [%s]", (unsigned char)*p, v);
	}
	ck_assert_uint_lt(p - line + strlen("Authentication-Results:"), 998);
	ck_assert_msg(result_looks(v) == (res->result == AR_SKIP ? 0 : 1),
	    "%d results to a substring search in [%s]", result_looks(v), v);
	path = xasprintf("%s/ar.txt", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(v, f);
	fclose(f);
	cmd = xasprintf("/usr/bin/python3 '%s/chk.py' %s '%s' < '%s'", tmpdir,
	    res->result == AR_SKIP ? "skip" : ar_result_name(res->result),
	    ident != NULL ? ident : "-", path);
	rc = system(cmd);
	ck_assert_msg(rc == 0, "python3-authres on [%s]", v);
	free(cmd);
	free(path);
	free(v);
}

struct acase {
	const char *name;
	const char *make;	/* writes m.eml */
	const char *from_hdr;	/* From value(s) of the header, LF between */
	enum ar_result want;
	const char *part;	/* NULL: not checked */
	const char *ident;	/* NULL: not checked; "0": none */
	const char *comment;	/* substring, or NULL */
};

#define FROM_A "Alice Wulandari <" ALICE ">"
#define MIX "staff $A > s.eml; { hdr $A; mixed s.eml "
/* m.eml with lines A and B before its second delimiter (after part 1) */
#define SPLICE(a, b) "b=$(bnd); awk -v d=\"--$b\" 'index($0, d) == 1 && ++k == 2 " \
	"{ print d \"" a "\"; print \"" b "\" } { print }' m.eml > m2.eml; mv m2.eml m.eml"
/* m.eml with text T (awk escapes, $b the boundary) just before its first
 * delimiter: in the multipart/signed preamble */
#define PREAMBLE(t) "b=$(bnd); awk -v d=\"--$b\" -v t=\"" t "\" " \
	"'index($0, d) == 1 && ++k == 1 { printf \"%s\", t } { print }' m.eml > m2.eml; mv m2.eml m.eml"

static const struct acase cases[] = {
	/* ---- hostile certificate fields, quoted in the comment ---- */
	{ "CN and O with parentheses, quotes, backslash and smime=pass",
	  "mkcert c paren; msg $A sign $(as c)", FROM_A, AR_PASS, "2", ALICE,
	  "signer Evil) ; smime=pass (x, O\"\\;((" },
	{ "CN with CRLF and a whole Authentication-Results line",
	  "mkcert c crlf; msg $A sign $(as c)", FROM_A, AR_PASS, "2", ALICE,
	  "signer Eve" },
	{ "CN with NUL", "mkcert c nul; msg $A sign $(as c)", FROM_A, AR_PASS,
	  "2", ALICE, "signer Ali" },
	{ "CN of every control character",
	  "mkcert c ctl; msg $A sign $(as c)", FROM_A, AR_PASS, "2", ALICE, NULL },
	{ "CN and O non-ASCII (zero width, RTL override, NBSP, LS)",
	  "mkcert c utf8; msg $A sign $(as c)", FROM_A, AR_PASS, "2", ALICE, NULL },
	{ "CN and O of 3000 characters",
	  "mkcert c long; msg $A sign $(as c)", FROM_A, AR_PASS, "2", ALICE, NULL },
	/* ---- hostile addresses: identifier property and comment ---- */
	{ "subject emailAddress is From", "mkcert c subjemail; msg $A sign $(as c)",
	  FROM_A, AR_PASS, "2", ALICE, NULL },
	{ "emailAddress with ) ( CRLF quote backslash", "mkcert c bademail; msg $A sign $(as c)",
	  FROM_A, AR_POLICY, "2", NULL, "is not the From address" },
	{ "SAN rfc822Name with ; smime=pass CRLF", "mkcert c badsan; msg $A sign $(as c)",
	  FROM_A, AR_POLICY, "2", NULL, "is not the From address" },
	{ "SAN rfc822Name of 3000 characters", "mkcert c longsan; msg $A sign $(as c)",
	  FROM_A, AR_POLICY, "2", "0", "signer (unnamed) is not the From" },
	{ "several SAN addresses, From among them",
	  "mkcert c multi; msg $A sign $(as c)", FROM_A, AR_PASS, "2", ALICE, NULL },
	{ "several SAN addresses, From not among them",
	  "mkcert c multi; msg $B sign $(as c)", BOB, AR_POLICY, "2",
	  "evil@kepriprov.go.id", "not the From address" },
	{ "SAN upper case, From lower case", "mkcert c upper; msg $A sign $(as c)",
	  FROM_A, AR_PASS, "2", ALICE, NULL },
	{ "From upper case", "mkcert c upper; msg $A sign $(as c)",
	  "<ALICE@TANJUNGPINANGKOTA.GO.ID>", AR_PASS, "2", ALICE, NULL },
	{ "IDN look-alike domain in SAN", "mkcert c idn; msg $A sign $(as c)",
	  FROM_A, AR_POLICY, "2", "alice@xn--tanjungpinangkta-rcj.go.id", NULL },
	{ "From with a Cyrillic o, certificate ASCII", "msg $A staff $A",
	  "alice@tanjungpinangk\xd0\xbeta.go.id", AR_POLICY, "2", ALICE, NULL },
	/* a certificate without an address "MUST be accepted" (RFC 8550 §3),
	 * but it binds no From: never pass for whatever From says */
	{ "From only as dNSName and URI in the SAN",
	  "mkcert c othertypes; msg $A sign $(as c)", FROM_A, AR_POLICY, "2", "0",
	  "no e-mail address" },
	{ "certificate without an address, From in the CN",
	  "mkcert c noaddr; msg $A sign $(as c)", FROM_A, AR_POLICY, "2", "0",
	  "no e-mail address" },
	{ "SAN address with NUL (OpenSSL ignores it)",
	  "mkcert c nulsan; msg $A sign $(as c)", FROM_A, AR_POLICY, "2", "0",
	  "no e-mail address" },
	{ "emailAddress as UTF8String (OpenSSL ignores it)",
	  "mkcert c utf8email; msg $A sign $(as c)", FROM_A, AR_POLICY, "2", "0", NULL },
	{ "untrusted signer named smime=pass@, CN smime=pass",
	  "mkcert c eqpass; msg $A sign $(as c)", FROM_A, AR_FAIL, "2", NULL,
	  "not issued by a trusted CA" },
	{ "trusted signer named smime=pass@, From another",
	  "mkcert c eqpass2; msg $A sign $(as c)", FROM_A, AR_POLICY, "2", NULL,
	  "not the From address" },
	{ "issuer DN with quotes, CRLF, parentheses (untrusted CA)",
	  "mkcert c hostileca; msg $A sign $(as c)", FROM_A, AR_FAIL, "2", NULL,
	  "not issued by a trusted CA" },
	/* ---- key size: verifiers SHOULD NOT accept RSA under 2048 bits
	 * (RFC 8551 §4.1-4.3) ---- */
	{ "RSA-1024 signer key", "mkcert c rsa1024; msg $A sign $(as c)", FROM_A,
	  AR_POLICY, "2", ALICE, "weak key" },
	{ "RSA-2048 signer key", "mkcert c rsa2048; msg $A sign $(as c)", FROM_A,
	  AR_PASS, "2", ALICE, NULL },
	/* ---- From tricks (From as do_verify derives it) ---- */
	{ "two From headers", "msg $A staff $A", FROM_A "\n" FROM_A, AR_POLICY,
	  "2", ALICE, "not the From address" },
	{ "From with two addresses", "msg $A staff $A", ALICE ", " BOB, AR_POLICY,
	  "2", ALICE, "not the From address" },
	{ "From display name is the signer, address another",
	  "msg $A staff $A", "\"" ALICE "\" <evil@example.org>", AR_POLICY, "2",
	  ALICE, NULL },
	{ "two From headers, certificate without an address",
	  "mkcert c noaddr; msg $A sign $(as c)", FROM_A "\n" BOB, AR_POLICY, "2",
	  "0", NULL },
	/* ---- several signers: the worst counts ---- */
	{ "valid From signer, then an untrusted one",
	  "mkcert o outside; msg $A staff $A $(as o)", FROM_A, AR_FAIL, "2", NULL,
	  "not issued by a trusted CA" },
	{ "untrusted signer for From, then a valid one",
	  "mkcert o outside; msg $A sign $(as o) $(as $S/$A)", FROM_A, AR_FAIL,
	  "2", NULL, "not issued by a trusted CA" },
	{ "untrusted signer for From, valid signer not From",
	  "mkcert o outside; msg $A sign $(as o) $(as $S/$B)", FROM_A, AR_FAIL,
	  "2", NULL, "not issued by a trusted CA" },
	{ "valid From signer, then a valid partner who is not From",
	  "mkcert e mallory; msg $A staff $A $(as e)", FROM_A, AR_POLICY, "2",
	  "eve@kepriprov.go.id", "not the From address" },
	{ "valid From signer, then a revoked one",
	  "msg $A staff $A $(as $S/dave@tanjungpinangkota.go.id)", FROM_A, AR_FAIL,
	  "2", NULL, "certificate revoked" },
	/* ---- nesting ---- */
	{ "multipart/signed in multipart/signed: outer by another signer",
	  "staff $A > in.eml; crlf in.eml; { hdr $A; openssl cms -sign -binary -in in.eml "
	  "$(as $S/$B) -certfile $P/chain.pem; } > m.eml", FROM_A, AR_POLICY, "2",
	  BOB, "not the From address" },
	{ "multipart/signed in multipart/signed: outer by From",
	  "staff $B > in.eml; crlf in.eml; { hdr $A; openssl cms -sign -binary -in in.eml "
	  "$(as $S/$A) -certfile $P/chain.pem; } > m.eml", FROM_A, AR_PASS, "2",
	  ALICE, NULL },
	{ "signed message/rfc822 attached to an unsigned message",
	  "msg $A staff $A; mv m.eml s.eml; { hdr $A; printf 'MIME-Version: 1.0\\n"
	  "Content-Type: multipart/mixed; boundary=X\\n\\n--X\\nContent-Type: text/plain\\n\\n"
	  "Transfer to account 123\\n--X\\nContent-Type: message/rfc822\\n\\n'; cat s.eml; "
	  "printf '\\n--X--\\n'; } > m.eml", FROM_A, AR_NONE, NULL, NULL, NULL },
	{ "signed message/rfc822 first in multipart/mixed",
	  "msg $A staff $A; mv m.eml s.eml; { hdr $A; printf 'MIME-Version: 1.0\\n"
	  "Content-Type: multipart/mixed; boundary=X\\n\\n--X\\nContent-Type: message/rfc822\\n\\n'; "
	  "cat s.eml; printf '\\n--X\\nContent-Type: text/plain\\n\\nfooter\\n--X--\\n'; } > m.eml",
	  FROM_A, AR_NONE, NULL, NULL, NULL },
	{ "top-level message/rfc822 holding a signed message",
	  "msg $A staff $A; mv m.eml s.eml; { hdr $A; printf 'MIME-Version: 1.0\\n"
	  "Content-Type: message/rfc822\\n\\n'; cat s.eml; } > m.eml",
	  FROM_A, AR_NONE, NULL, NULL, NULL },
	{ "list footer: one small text/plain part stays pass",
	  MIX "'Content-Type: text/plain' 'milis@kepriprov.go.id'; } > m.eml",
	  FROM_A, AR_PASS, "1.2", ALICE, "the list footer after the signed part is not signed; signature valid" },
	{ "multipart/mixed holding only the signed part",
	  "staff $A > s.eml; { hdr $A; printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=LIST\n\n--LIST\n'; "
	  "cat s.eml; printf '\n--LIST--\n'; } > m.eml", FROM_A, AR_PASS, "1.2", ALICE, "signature valid" },
	{ "list footer: empty text/plain part",
	  MIX "'Content-Type: text/plain' ''; } > m.eml", FROM_A, AR_PASS, "1.2", ALICE, NULL },
	{ "list footer: base64 text/plain, inline, charset",
	  MIX "'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\nContent-Disposition: inline' 'LS0gCm1pbGlzQGtlcHJpcHJvdi5nby5pZAo='; } > m.eml",
	  FROM_A, AR_PASS, "1.2", ALICE, NULL },
	{ "signed first part, then an attachment",
	  MIX "'Content-Type: application/octet-stream; name=invoice.exe\nContent-Disposition: attachment; filename=invoice.exe' 'TVqQAAMAAAAEAAAA'; } > m.eml",
	  FROM_A, AR_POLICY, "1.2", ALICE, "unsigned" },
	{ "signed first part, then text/html",
	  MIX "'Content-Type: text/html' '<p>Transfer to account 123</p>'; } > m.eml",
	  FROM_A, AR_POLICY, "1.2", ALICE, "unsigned" },
	{ "signed first part, then a text/plain attachment",
	  MIX "'Content-Type: text/plain\nContent-Disposition: attachment; filename=a.txt' 'x'; } > m.eml",
	  FROM_A, AR_POLICY, "1.2", ALICE, "unsigned" },
	{ "signed first part, then a long text/plain part",
	  MIX "'Content-Type: text/plain' \"$(head -c 30000 /dev/zero | tr '\\0' x | fold -w 70)\"; } > m.eml",
	  FROM_A, AR_POLICY, "1.2", ALICE, "unsigned" },
	{ "signed first part, then two footers",
	  "staff $A > s.eml; { hdr $A; printf 'MIME-Version: 1.0\\nContent-Type: multipart/mixed; boundary=LIST\\n\\n--LIST\\n'; "
	  "cat s.eml; printf '\\n--LIST\\nContent-Type: text/plain\\n\\nf1\\n--LIST\\nContent-Type: text/plain\\n\\nf2\\n--LIST--\\n'; } > m.eml",
	  FROM_A, AR_POLICY, "1.2", ALICE, "unsigned" },
	{ "opaque first part, then an attachment",
	  "staff $A -nodetach > s.eml; { hdr $A; mixed s.eml 'Content-Type: application/pdf' 'JVBERi0='; } > m.eml",
	  FROM_A, AR_POLICY, "1", ALICE, "unsigned" },
	{ "opaque whose content is another signed-data (bob), outer by From",
	  "staff $B -nodetach > in.eml; crlf in.eml; { hdr $A; openssl cms -sign -binary -nodetach "
	  "-in in.eml $(as $S/$A) -certfile $P/chain.pem; } > m.eml", FROM_A, AR_PASS,
	  "1", ALICE, NULL },
	{ "opaque whose content is alice's signed-data, outer by a partner",
	  "mkcert e mallory; staff $A -nodetach > in.eml; crlf in.eml; { hdr $A; "
	  "openssl cms -sign -binary -nodetach -in in.eml $(as e) -certfile $P/chain.pem; } > m.eml",
	  FROM_A, AR_POLICY, "1", "eve@kepriprov.go.id", NULL },
	{ "opaque over enveloped-data labelled signed-data",
	  "content; openssl cms -encrypt -aes256 -in content.txt -out e.eml $S/$B.pem; crlf e.eml; "
	  "sed -i 's/enveloped-data/signed-data/' e.eml; { hdr $A; openssl cms -sign -binary -nodetach "
	  "-in e.eml $(as $S/$A) -certfile $P/chain.pem; } > m.eml", FROM_A, AR_SKIP, NULL, NULL, NULL },
	/* ---- the header a reader sees differs from the one verified ---- */
	{ "two Content-Type fields, the signed one last",
	  "msg $A staff $A; { hdr $A; printf 'Content-Type: multipart/mixed; boundary=EVIL\\n'; "
	  "sed '1,4d' m.eml; printf '\\n--EVIL\\nContent-Type: text/plain\\n\\nTransfer to account 123\\n--EVIL--\\n'; } > m2.eml; mv m2.eml m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "Content-Type" },
	{ "two Content-Type fields in the first part of multipart/mixed",
	  "staff $A > s.eml; { hdr $A; printf 'MIME-Version: 1.0\\nContent-Type: multipart/mixed; boundary=LIST\\n\\n--LIST\\n"
	  "Content-Type: text/html\\n'; cat s.eml; printf '\\n--LIST\\nContent-Type: text/plain\\n\\nfooter\\n--LIST--\\n'; } > m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "Content-Type" },
	{ "multipart/signed over enveloped-data labelled signed-data",
	  "content; openssl cms -encrypt -aes256 -in content.txt -out e.eml $S/$B.pem; crlf e.eml; "
	  "sed -i 's/enveloped-data/signed-data/' e.eml; { hdr $A; openssl cms -sign -binary "
	  "-in e.eml $(as $S/$A) -certfile $P/chain.pem; } > m.eml", FROM_A, AR_SKIP, NULL, NULL, NULL },
	/* a reader taking the first boundary parameter sees EVIL's part */
	{ "multipart/signed with a second boundary parameter, before",
	  "msg $A staff $A; sed -i 's/boundary=/boundary=EVIL; boundary=/' m.eml; "
	  "printf '\n--EVIL\nContent-Type: text/plain\n\nTransfer to account 123\n--EVIL--\n' >> m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "boundary" },
	{ "multipart/signed with a second boundary parameter, after",
	  "msg $A staff $A; sed -i '/^Content-Type: multipart.signed/s/$/; boundary=EVIL/' m.eml; "
	  "printf '\n--EVIL\nContent-Type: text/plain\n\nTransfer to account 123\n--EVIL--\n' >> m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "boundary" },
	{ "multipart/signed with boundary and boundary*",
	  "msg $A staff $A; sed -i '/^Content-Type: multipart.signed/s/$/; boundary*=EVIL/' m.eml; "
	  "printf '\n--EVIL\nContent-Type: text/plain\n\nTransfer to account 123\n--EVIL--\n' >> m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "boundary" },
	{ "multipart/mixed list shape with a second boundary parameter",
	  "staff $A > s.eml; { hdr $A; mixed s.eml 'Content-Type: text/plain' 'footer'; } > m.eml; "
	  "sed -i 's/boundary=LIST/boundary=LIST; boundary=EVIL/' m.eml; "
	  "printf '\n--EVIL\nContent-Type: text/plain\n\nTransfer to account 123\n--EVIL--\n' >> m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "boundary" },
	/* ---- issue 18: one reading of the MIME structure ---- */
	/* RFC 2046: only transport padding after a delimiter; "--B--x" is text
	 * to every reader, so it is signed text here too (and the digest fails) */
	{ "close delimiter followed by text, then the attacker's text",
	  "msg $A staff $A; " SPLICE("--x\\r", "TAMBAHAN: transfer 500 juta ke rekening 123\\r"),
	  FROM_A, AR_FAIL, "2", NULL, "does not match" },
	{ "close delimiter with transport padding ends the signed part",
	  "msg $A staff $A; sed -i \"s/^\\(--$(bnd)--\\)\\r*$/\\1 \\t\\r/\" m.eml",
	  FROM_A, AR_PASS, "2", ALICE, NULL },
	/* every part, not only the top and the signed one (GMime takes the
	 * last field, other readers the first) */
	{ "footer with two Content-Type fields",
	  MIX "'Content-Type: text/html\nContent-Type: text/plain' '<p>Transfer ke rekening 123</p>'; } > m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "ambiguous" },
	{ "footer with two Content-Transfer-Encoding fields",
	  MIX "'Content-Type: text/plain\nContent-Transfer-Encoding: base64\nContent-Transfer-Encoding: 7bit' 'VHJhbnNmZXIgMTIz'; } > m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "ambiguous" },
	{ "footer with two Content-Disposition fields",
	  MIX "'Content-Type: text/plain\nContent-Disposition: inline\nContent-Disposition: attachment; filename=a.html' 'x'; } > m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "ambiguous" },
	{ "footer with two charset parameters",
	  MIX "'Content-Type: text/plain; charset=us-ascii; charset=utf-7' '+AFw-x'; } > m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "ambiguous" },
	{ "footer Content-Type with white space before the colon",
	  MIX "'Content-Type : text/html' '<p>Transfer ke rekening 123</p>'; } > m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "ambiguous" },
	{ "signature part with two Content-Type fields",
	  "msg $A staff $A; awk '/^Content-Type: application\\/pkcs7-signature/ { print \"Content-Type: text/plain\\r\" } { print }' m.eml > m2.eml; mv m2.eml m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "ambiguous" },
	{ "signature part typed text/plain",
	  "msg $A staff $A; sed -i 's/^Content-Type: application\\/pkcs7-signature.*/Content-Type: text\\/plain\\r/' m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, "signature part" },
	/* a reader that also ends lines at a bare CR sees other lines */
	{ "delimiter line ended by CR CR LF",
	  "msg $A staff $A; sed -i \"s/^\\(--$(bnd)\\)\\r*$/\\1\\r\\r/\" m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, NULL },
	{ "preamble with a CR-only delimiter and a text part",
	  "msg $A staff $A; " PREAMBLE("x\\r--$b\\rContent-Type: text/plain\\r\\rTransfer ke rekening 123\\r\\n"),
	  FROM_A, AR_NEUTRAL, NULL, NULL, "bare CR" },
	/* RFC 2046 bcharsnospace: Python strips the trailing space, GMime not */
	{ "boundary parameter ending in a space",
	  "msg $A staff $A; b=$(bnd); sed -i \"s/boundary=\\\"$b\\\"/boundary=\\\"$b \\\"/; s/^--$b\\(-*\\)\\r*$/--$b \\1\\r/\" m.eml; "
	  PREAMBLE("x\\r\\n--$b\\r\\nContent-Type: text/plain\\r\\n\\r\\nTransfer ke rekening 123\\r\\n"),
	  FROM_A, AR_NEUTRAL, NULL, NULL, "boundary" },
	/* RFC 2047 §5: no encoded-word in a parameter; GMime and Python decode
	 * one in the boundary, other readers cut at the literal one */
	{ "boundary parameter as an encoded-word",
	  "msg $A staff $A; b=$(bnd); sed -i \"s/boundary=\\\"$b\\\"/boundary=\\\"=?us-ascii?q?$b?=\\\"/\" m.eml; "
	  PREAMBLE("--=?us-ascii?q?$b?=\\r\\nContent-Type: text/plain\\r\\n\\r\\nTransfer ke rekening 123\\r\\n--=?us-ascii?q?$b?=--\\r\\n"),
	  FROM_A, AR_NEUTRAL, NULL, NULL, "boundary" },
	{ "list shape with the boundary reused inside",
	  "staff $A > s.eml; b=$(sed -n 's/.*boundary=\"\\([^\"]*\\)\".*/\\1/p' s.eml | head -1); "
	  "{ hdr $A; mixed s.eml 'Content-Type: text/plain' 'footer'; } | sed \"s/LIST/$b/g\" > m.eml",
	  FROM_A, AR_NEUTRAL, NULL, NULL, NULL },
	/* ---- a reader of protected headers (RFC 8551 §3.1 message/rfc822
	 * wrapper, RFC 9788 hp=) shows the inner From ---- */
	{ "signed message/rfc822 whose inner From is another address",
	  "mkcert e mallory; printf 'Content-Type: message/rfc822\r\n\r\nFrom: Walikota <walikota@tanjungpinangkota.go.id>\r\n"
	  "Subject: Perintah\r\n\r\nTransfer ke rekening 123.\r\n' > in.txt; { hdr eve@kepriprov.go.id; "
	  "openssl cms -sign -binary -in in.txt $(as e) -certfile $P/chain.pem; } > m.eml",
	  "eve@kepriprov.go.id", AR_POLICY, "2", "eve@kepriprov.go.id", "From" },
	{ "signed message/rfc822 whose inner From is the signer",
	  "mkcert e mallory; printf 'Content-Type: message/rfc822\r\n\r\nFrom: Eve <EVE@kepriprov.go.id>\r\n"
	  "Subject: Perintah\r\n\r\nHalo.\r\n' > in.txt; { hdr eve@kepriprov.go.id; "
	  "openssl cms -sign -binary -in in.txt $(as e) -certfile $P/chain.pem; } > m.eml",
	  "eve@kepriprov.go.id", AR_PASS, "2", "eve@kepriprov.go.id", NULL },
	{ "signed message/rfc822 whose inner From shows another address in its name",
	  "mkcert e mallory; printf 'Content-Type: message/rfc822\r\n\r\nFrom: \"walikota@tanjungpinangkota.go.id\" <eve@kepriprov.go.id>\r\n"
	  "Subject: Perintah\r\n\r\nTransfer ke rekening 123.\r\n' > in.txt; { hdr eve@kepriprov.go.id; "
	  "openssl cms -sign -binary -in in.txt $(as e) -certfile $P/chain.pem; } > m.eml",
	  "eve@kepriprov.go.id", AR_POLICY, "2", "eve@kepriprov.go.id", "From" },
	{ "opaque message/rfc822 whose inner From is another address",
	  "mkcert e mallory; printf 'Content-Type: message/rfc822\r\n\r\nFrom: walikota@tanjungpinangkota.go.id\r\n"
	  "Subject: Perintah\r\n\r\nTransfer ke rekening 123.\r\n' > in.txt; { hdr eve@kepriprov.go.id; "
	  "openssl cms -sign -binary -nodetach -in in.txt $(as e) -certfile $P/chain.pem; } > m.eml",
	  "eve@kepriprov.go.id", AR_POLICY, "1", "eve@kepriprov.go.id", "From" },
	{ "RFC 9788 hp=clear part whose protected From is another address",
	  "mkcert e mallory; printf 'Content-Type: text/plain; charset=us-ascii; hp=\"clear\"\r\n"
	  "From: walikota@tanjungpinangkota.go.id\r\nSubject: Perintah\r\n\r\nTransfer ke rekening 123.\r\n' > in.txt; "
	  "{ hdr eve@kepriprov.go.id; openssl cms -sign -binary -in in.txt $(as e) -certfile $P/chain.pem; } > m.eml",
	  "eve@kepriprov.go.id", AR_POLICY, "2", "eve@kepriprov.go.id", "From" },
	{ "RFC 9788 hp=clear part whose protected From is the signer",
	  "mkcert e mallory; printf 'Content-Type: text/plain; charset=us-ascii; hp=\"clear\"\r\n"
	  "From: eve@kepriprov.go.id\r\nTo: kepala@tanjungpinangkota.go.id\r\nSubject: Surat resmi\r\n\r\nHalo.\r\n' > in.txt; "
	  "{ hdr eve@kepriprov.go.id; openssl cms -sign -binary -in in.txt $(as e) -certfile $P/chain.pem; } > m.eml",
	  "eve@kepriprov.go.id", AR_PASS, "2", "eve@kepriprov.go.id", NULL },
	/* issue 13: the outer Subject is not the protected one (RFC 9788) */
	{ "RFC 9788 hp=clear part whose protected Subject is not the outer one",
	  "mkcert e mallory; printf 'Content-Type: text/plain; charset=us-ascii; hp=\"clear\"\r\n"
	  "From: eve@kepriprov.go.id\r\nTo: kepala@tanjungpinangkota.go.id\r\nSubject: Perintah\r\n\r\nHalo.\r\n' > in.txt; "
	  "{ hdr eve@kepriprov.go.id; openssl cms -sign -binary -in in.txt $(as e) -certfile $P/chain.pem; } > m.eml",
	  "eve@kepriprov.go.id", AR_POLICY, "2", "eve@kepriprov.go.id", "Subject outside the signed part" },
	/* the display name shows another address: do_verify binds no From
	 * (policy_from_address), so the partner's valid signature is policy */
	{ "display name is our official's address, signer is the real From",
	  "mkcert e mallory; msg eve@kepriprov.go.id sign $(as e)",
	  "\"walikota@tanjungpinangkota.go.id\" <eve@kepriprov.go.id>", AR_POLICY, "2",
	  "eve@kepriprov.go.id", "not the From address" },
};

START_TEST(test_case)
{
	const struct acase *c = &cases[_i];
	struct verify_result r;
	char *dir, *path;

	dir = xasprintf("%s/case%02d", tmpdir, _i);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	tl_script(dir, pkidir, c->make);
	path = xasprintf("%s/m.eml", dir);
	verify_file(path, c->from_hdr, &r);
	ck_assert_msg(r.result == c->want, "%s: result %s (%s), want %s",
	    c->name, ar_result_name(r.result), r.comment ? r.comment : "",
	    ar_result_name(c->want));
	if (c->part != NULL)
		ck_assert_msg(r.part != NULL && strcmp(r.part, c->part) == 0,
		    "%s: part %s, want %s", c->name, r.part ? r.part : "(null)",
		    c->part);
	if (c->ident != NULL && strcmp(c->ident, "0") == 0)
		ck_assert_msg(r.identifier == NULL, "%s: identifier %s",
		    c->name, r.identifier);
	else if (c->ident != NULL)
		ck_assert_msg(r.identifier != NULL &&
		    strcmp(r.identifier, c->ident) == 0, "%s: identifier %s",
		    c->name, r.identifier ? r.identifier : "(null)");
	if (c->comment != NULL)
		ck_assert_msg(r.comment != NULL &&
		    strstr(r.comment, c->comment) != NULL,
		    "%s: comment \"%s\", want \"%s\"", c->name,
		    r.comment ? r.comment : "(null)", c->comment);
	if (r.result != AR_NONE)
		check_field(dir, &r, c->ident != NULL && strchr(c->ident, '"') == NULL ?
		    c->ident : NULL);
	verify_result_free(&r);
	free(path);
	free(dir);
}
END_TEST

/* ---- forged fields with our authserv-id ---- */

struct fcase {
	const char *name;	/* header name as received */
	const char *value;
	bool ours;		/* to be removed */
};

static const struct fcase forged[] = {
	{ "Authentication-Results", " " ID "; smime=pass", true },
	{ "authentication-results", " " ID "; smime=pass", true },
	{ "AUTHENTICATION-RESULTS", " " ID "; smime=pass", true },
	{ "Authentication-Results", " MAIL.TanjungPinangKota.GO.ID; smime=pass", true },
	{ "Authentication-Results", " \"" ID "\"; smime=pass", true },
	{ "Authentication-Results", " \"MAIL.tanjungpinangkota.go.id\"; smime=pass", true },
	{ "Authentication-Results", " " ID " 1; smime=pass", true },
	{ "Authentication-Results", " " ID "\n\t1 ; smime=pass", true },
	{ "Authentication-Results", " (x) " ID " (y) ; smime=pass", true },
	{ "Authentication-Results", "\t \n\t" ID ";smime=pass", true },
	{ "Authentication-Results", " " ID ". ; smime=pass", true },
	{ "Authentication-Results", " \"" ID ".\"; smime=pass", true },
	{ "Authentication-Results", " " ID ";", true },
	/* issue 18: what a reader decodes to our id (test_authres has more) */
	{ "Authentication-Results", " =?utf-8?q?mail=2Etanjungpinangkota=2Ego=2Eid?=; smime=pass", true },
	{ "Authentication-Results", " mail\xef\xbc\x8etanjungpinangkota.go.id; smime=pass", true },
	{ "Authentication-Results", " mail.tanjungpinangk\xd0\xbeta.go.id; smime=pass", true },
	{ "Authentication-Results", " mail%2Etanjungpinangkota.go.id; smime=pass", true },
	{ "Authentication-Results", " x." ID "; smime=pass", false },
	{ "Authentication-Results", " " ID ".x; smime=pass", false },
	{ "ARC-Authentication-Results", " i=1; " ID "; smime=pass", false },
	{ "X-Authentication-Results", " " ID "; smime=pass", false },
	{ "Authentication-Results-Original", " " ID "; smime=pass", false },
	{ "X-Original-Authentication-Results", " " ID "; smime=pass", false },
};

START_TEST(test_forged)
{
	const struct fcase *f = &forged[_i];
	struct conf c;
	struct msgctx *m;

	memset(&c, 0, sizeof(c));
	c.max_headers = 1000;
	c.max_header_bytes = 1 << 20;
	c.max_message_size = 1 << 20;
	c.memory_threshold = 1 << 20;
	m = msgctx_new(&c);
	/* a foreign one first, so the index counts fields of that name */
	msgctx_header(m, &c, f->name, "mx.example.org; spf=pass", ID);
	msgctx_header(m, &c, "From", ALICE, ID);
	msgctx_header(m, &c, f->name, f->value, ID);
	if (f->ours) {
		ck_assert_msg(m->n_ar_ours == 1 && m->ar_ours[0] == 2,
		    "%s:%s not removed", f->name, f->value);
	} else
		ck_assert_msg(m->n_ar_ours == 0, "%s:%s removed", f->name,
		    f->value);
	msgctx_free(m);
}
END_TEST

static int
setup(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	pkidir = xasprintf("%s/pki", tmpdir);
	if (tl_gen_pki(pkidir, "trust.pem") != 0)
		return -1;
	tl_write(tmpdir, "lib.sh", shlib);
	tl_write(tmpdir, "mkcert.py", mkcert);
	tl_write(tmpdir, "chk.py", chkpy);
	pki = tl_load_pki(pkidir, "crl");
	return pki != NULL ? 0 : -1;
}

int
main(void)
{
	Suite *s = suite_create("attack_verify");
	TCase *tc = tcase_create("core");
	int rc;

	if (system("/usr/bin/python3 -c 'import authres, cryptography' 2>/dev/null") != 0) {
		fprintf(stderr, "test_attack_verify: needs python3-authres and python3-cryptography\n");
		return 77;
	}
	if (setup() != 0) {
		fprintf(stderr, "test_attack_verify: cannot build the test PKI\n");
		return EXIT_FAILURE;
	}
	g_mime_init();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_case, 0, NELEM(cases));
	tcase_add_loop_test(tc, test_forged, 0, NELEM(forged));
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	pki_free(pki);
	g_mime_shutdown();
	tl_rmtree(tmpdir);
	free(pkidir);
	return rc;
}
