/*
 * test_attack_store.c - trying to make segel sign with a certificate that
 * must not be used, or to get at the keys of the store (THREATS.md
 * sections 2 and 5): hostile files in sign.cert_dir as certstore_load()
 * meets them, and hostile stores as "segelctl import/revoke" (run as root)
 * meets them.
 *
 * Rule: an entry signs only when its certificate is valid now, unrevoked
 * (CRL and revoked.list, however the list was edited), chains to
 * trust_file, is an end-entity certificate for e-mail signing, has the
 * key, names the address of its file, and its files are plain files inside
 * the store owned by the daemon's user (or root). A store the officer
 * cannot vouch for (writable by others, revoked.list unreadable or
 * writable by others) is an error (exit 78). segelctl, run as root in a
 * folder the daemon's user owns, must follow no symbolic link it did not
 * create and write nothing outside cert_dir.
 *
 * Each case builds its hostile store with a shell snippet: S the store (a
 * copy of certs/), P the test PKI, D the domain, M the certificate maker
 * (mk.py below: an EC certificate issued by the test BSrE CA, shaped by
 * key=value words).
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "certstore.h"
#include "conf.h"
#include "diag.h"
#include "pki.h"
#include "storeadmin.h"
#include "testlib.h"
#include "util.h"

#define DOM "tanjungpinangkota.go.id"
#define A "alice@" DOM
#define B "bob@" DOM
/* alice's certificate and passphrase under NAME (a shell word) in $S */
#define AS(name) "cp -p $S/" A ".p12 $S/" name ".p12 && cp -p $S/" A \
	".pass $S/" name ".pass"
/* a made certificate for file NAME, then its passphrase "pw" */
#define MK(name, words) "$M $S/" name ".p12 pw " words " && echo pw > $S/" \
	name ".pass && rm $S/" name ".pem"
/* one revoked.list line for alice's certificate, fields from printf FMT */
#define RL(fmt) "ser=$(openssl x509 -noout -serial -in $P/staff/" A ".pem |" \
	" cut -d= -f2); iss='CN=Test BSrE Issuing CA,O=Balai Besar " \
	"Sertifikasi Elektronik (TEST),C=ID'; printf " fmt " > $S/revoked.list"

/* alice's .p12 made by python code CODE setting out (helpers ld, enc) */
#define P12(code) "/usr/bin/python3 -c 'import sys\n" \
	"from cryptography import x509\n" \
	"from cryptography.hazmat.primitives import serialization as s\n" \
	"from cryptography.hazmat.primitives.serialization import pkcs12\n" \
	"def ld(p):\n" \
	" b = open(sys.argv[1] + \"/\" + p, \"rb\").read()\n" \
	" return s.load_pem_private_key(b, None) if p.endswith(\"key\") " \
	"else x509.load_pem_x509_certificate(b)\n" \
	"enc = s.BestAvailableEncryption(b\"pw\")\n" code "\n" \
	"open(sys.argv[2], \"wb\").write(out)' $P $S/" A ".p12 && echo pw > " \
	"$S/" A ".pass"

static char pkidir[] = "/tmp/segel-test-as.XXXXXX";
#define P(...)	tl_path(pkidir, __VA_ARGS__)
/* mk.py PKIDIR OUT.p12 PASS [word ...]: see its comment. */
static const char mk_py[] =
    "# mk.py PKIDIR OUT.p12 PASS [key=value ...]: a signing certificate for the\n"
    "# store attacks, issued by the test BSrE CA unless told otherwise.\n"
    "#   san=a,b      rfc822Name entries (default: none)\n"
    "#   email=TEXT   subject emailAddress (\\0 becomes NUL)\n"
    "#   ca=1         basicConstraints CA:TRUE\n"
    "#   eku=smime|server|none   ku=sign|encipher|none\n"
    "#   nb=DAYS na=DAYS         validity relative to now (default -1 .. 365)\n"
    "#   issuer=bsre|oldca       oldca: an intermediate under root that expired\n"
    "import datetime, sys\n"
    "from cryptography import x509\n"
    "from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID\n"
    "from cryptography.hazmat.primitives import hashes, serialization as ser\n"
    "from cryptography.hazmat.primitives.asymmetric import ec\n"
    "from cryptography.hazmat.primitives.serialization import pkcs12\n"
    "\n"
    "pki, out, pw = sys.argv[1:4]\n"
    "o = dict(a.split(\"=\", 1) for a in sys.argv[4:])\n"
    "now = datetime.datetime.now(datetime.timezone.utc)\n"
    "day = datetime.timedelta(days=1)\n"
    "ld = lambda p: open(pki + \"/\" + p, \"rb\").read()\n"
    "root = x509.load_pem_x509_certificate(ld(\"root.pem\"))\n"
    "rkey = ser.load_pem_private_key(ld(\"root.key\"), None)\n"
    "icert = x509.load_pem_x509_certificate(ld(\"bsre.pem\"))\n"
    "ikey = ser.load_pem_private_key(ld(\"bsre.key\"), None)\n"
    "if o.get(\"issuer\") == \"oldca\":\n"
    "    ikey = ec.generate_private_key(ec.SECP256R1())\n"
    "    iname = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, \"Old BSrE CA\")])\n"
    "    icert = (x509.CertificateBuilder().subject_name(iname)\n"
    "        .issuer_name(root.subject).public_key(ikey.public_key())\n"
    "        .serial_number(x509.random_serial_number())\n"
    "        .not_valid_before(now - 400 * day).not_valid_after(now - day)\n"
    "        .add_extension(x509.BasicConstraints(True, 0), True)\n"
    "        .add_extension(x509.KeyUsage(False, False, False, False, False, True,\n"
    "            True, False, False), True)\n"
    "        .sign(rkey, hashes.SHA256()))\n"
    "key = ec.generate_private_key(ec.SECP256R1())\n"
    "attrs = [x509.NameAttribute(NameOID.COMMON_NAME, \"Attack Test\")]\n"
    "if \"email\" in o:\n"
    "    attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS,\n"
    "        o[\"email\"].replace(\"\\\\0\", \"\\0\")))\n"
    "b = (x509.CertificateBuilder().subject_name(x509.Name(attrs))\n"
    "    .issuer_name(icert.subject).public_key(key.public_key())\n"
    "    .serial_number(x509.random_serial_number())\n"
    "    .not_valid_before(now + int(o.get(\"nb\", -1)) * day)\n"
    "    .not_valid_after(now + int(o.get(\"na\", 365)) * day)\n"
    "    .add_extension(x509.BasicConstraints(o.get(\"ca\") == \"1\", None), True))\n"
    "ku = o.get(\"ku\", \"sign\")\n"
    "if ku != \"none\":\n"
    "    b = b.add_extension(x509.KeyUsage(ku == \"sign\", ku == \"sign\",\n"
    "        ku == \"encipher\", False, False, False, False, False, False), True)\n"
    "eku = o.get(\"eku\", \"smime\")\n"
    "if eku != \"none\":\n"
    "    b = b.add_extension(x509.ExtendedKeyUsage([\n"
    "        ExtendedKeyUsageOID.EMAIL_PROTECTION if eku == \"smime\" else\n"
    "        ExtendedKeyUsageOID.SERVER_AUTH]), False)\n"
    "if o.get(\"san\"):\n"
    "    b = b.add_extension(x509.SubjectAlternativeName(\n"
    "        [x509.RFC822Name(a) for a in o[\"san\"].split(\",\")]), False)\n"
    "cert = b.sign(ikey, hashes.SHA256())\n"
    "open(out, \"wb\").write(pkcs12.serialize_key_and_certificates(None, key, cert,\n"
    "    [icert], ser.BestAvailableEncryption(pw.encode())))\n"
    "open(out[:-4] + \".pem\", \"wb\").write(cert.public_bytes(ser.Encoding.PEM))\n"
;

/* A private copy of certs/ named dir, shaped by setup. */
static void
make_store(const char *dir, const char *setup)
{
	tl_sh("rm -rf %s && cp -a %s %s", P("%s", dir), P("certs"),
	    P("%s", dir));
	tl_sh("S=%s P=%s D=%s M='/usr/bin/python3 %s %s'; %s", P("%s", dir),
	    pkidir, DOM, P("mk.py"), pkidir, setup);
}

static const char *
diag_text(const struct diag *d)
{
	static char buf[4096];
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < d->n && n < sizeof(buf) - 1; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "[%s %s: %s] ",
		    d->items[i].sev == DIAG_ERROR ? "E" : "W",
		    d->items[i].file, d->items[i].msg);
	return buf;
}

enum want_err { ERR_NONE, ERR_YES, ERR_ANY };

/* setup -> what a lookup of addr must give */
static const struct {
	const char *name, *setup, *addr;
	enum cert_status want;		/* CERT_BROKEN also stands for
					   "anything but OK" with problem NULL */
	const char *problem;		/* in e->problem, or NULL */
	enum want_err err;		/* a DIAG_ERROR (exit 78)? */
} store_cases[] = {
	/* --- certificates that must not sign */
	{ "bob's certificate under alice's name", AS("x") " && cp -p $S/" B
	    ".p12 $S/" A ".p12 && cp -p $S/" B ".pass $S/" A ".pass", A,
	    CERT_BROKEN, "does not name", ERR_NONE },
	{ "a CA certificate (CA:TRUE) naming alice", MK(A, "san=" A " ca=1"),
	    A, CERT_UNTRUSTED, "CA", ERR_NONE },
	{ "keyUsage keyEncipherment only", MK(A, "san=" A " ku=encipher"), A,
	    CERT_UNTRUSTED, NULL, ERR_NONE },
	{ "extendedKeyUsage serverAuth only", MK(A, "san=" A " eku=server"),
	    A, CERT_UNTRUSTED, NULL, ERR_NONE },
	{ "expired", MK(A, "san=" A " nb=-60 na=-1"), A, CERT_EXPIRED, NULL,
	    ERR_NONE },
	{ "not yet valid", MK(A, "san=" A " nb=2 na=60"), A,
	    CERT_NOT_YET_VALID, NULL, ERR_NONE },
	{ "revoked by the CRL", "true", "dave@" DOM, CERT_REVOKED, "CRL",
	    ERR_NONE },
	{ "issuing CA expired, certificate itself in date",
	    MK(A, "san=" A " issuer=oldca"), A, CERT_UNTRUSTED, "expired",
	    ERR_NONE },
	{ "untrusted chain", "true", "mallory@" DOM, CERT_UNTRUSTED, NULL,
	    ERR_NONE },
	{ "subject emailAddress alice NUL .evil", MK(A, "'email=" A
	    "\\0.evil.example'"), A, CERT_BROKEN, "does not name", ERR_NONE },
	{ "SAN alice NUL .evil", MK(A, "'san=" A "\\0.x'") , A, CERT_BROKEN,
	    "does not name", ERR_NONE },
	{ "a key that is not the certificate's", "openssl pkcs12 -export "
	    "-passout pass:pw -in $P/staff/" A ".pem -inkey $P/staff/" B
	    ".key -out $S/" A ".p12 2>/dev/null || /usr/bin/python3 -c '"
	    "import sys\nfrom cryptography import x509\n"
	    "from cryptography.hazmat.primitives import serialization as s\n"
	    "from cryptography.hazmat.primitives.serialization import pkcs12\n"
	    "c = x509.load_pem_x509_certificate(open(sys.argv[1], \"rb\").read())\n"
	    "k = s.load_pem_private_key(open(sys.argv[2], \"rb\").read(), None)\n"
	    "open(sys.argv[3], \"wb\").write(pkcs12.serialize_key_and_"
	    "certificates(None, k, c, None, s.BestAvailableEncryption(b\"pw\")))'"
	    " $P/staff/" A ".pem $P/staff/" B ".key $S/" A ".p12; echo pw > $S/"
	    A ".pass", A, CERT_BROKEN, NULL, ERR_NONE },
	{ "two keys in one p12 (bob's first), filed as alice", P12(
	    "k=[ld(\"staff/" B ".key\"), ld(\"staff/" A ".key\")]\n"
	    "c=[ld(\"staff/" B ".pem\"), ld(\"staff/" A ".pem\")]\n"
	    "bags=[pkcs12.PKCS12Certificate(x, None) for x in c]\n"
	    "out=pkcs12.serialize_key_and_certificates(None, k[0], c[0], "
	    "[c[1]], enc)"), A, CERT_BROKEN, NULL, ERR_NONE },
	/* --- certificates that still sign */
	{ "p12 carrying bob's certificate too: alice signs, bob's not sent",
	    P12("out=pkcs12.serialize_key_and_certificates(None, "
	    "ld(\"staff/" A ".key\"), ld(\"staff/" A ".pem\"), "
	    "[ld(\"staff/" B ".pem\"), ld(\"chain.pem\")], enc)"), A, CERT_OK,
	    NULL, ERR_NONE },
	{ "two addresses, filed as bob", MK(B, "san=" A "," B), B, CERT_OK,
	    NULL, ERR_NONE },
	{ "no keyUsage, no extendedKeyUsage (RFC 8550: unrestricted)",
	    MK(A, "san=" A " ku=none eku=none"), A, CERT_OK, NULL, ERR_NONE },
	{ "passphrase file with CRLF", "printf '%s\\r\\n' $(cat $S/" A
	    ".pass) > $S/x && mv $S/x $S/" A ".pass", A, CERT_OK, NULL,
	    ERR_NONE },
	/* --- odd file names and kinds */
	{ "temp file of a crashed import ignored", "mv $S/" A ".p12 $S/" A
	    ".p12.tmpAbC123", A, CERT_NONE, NULL, ERR_NONE },
	{ "trailing dot", "mv $S/" A ".p12 $S/" A "..p12 && mv $S/" A ".pass "
	    "$S/" A "..pass", A, CERT_NONE, NULL, ERR_NONE },
	{ "leading dash", AS("-" A) " && rm $S/" A ".p12", "-" A, CERT_BROKEN,
	    "does not name", ERR_NONE },
	{ "a newline in the file name", AS("'x\nforged line " A "'"), A,
	    CERT_OK, NULL, ERR_NONE },
	{ "a space in the file name", AS("'x " A "'"), "x " A, CERT_BROKEN,
	    NULL, ERR_ANY },
	{ "a device named like a store file", "mknod $S/zz@" DOM ".p12 c 1 5",
	    "zz@" DOM, CERT_NONE, NULL, ERR_NONE },
	{ "empty .p12", ": > $S/" A ".p12", A, CERT_BROKEN, "PKCS#12",
	    ERR_NONE },
	{ "empty .pass", ": > $S/" A ".pass", A, CERT_BROKEN, "passphrase",
	    ERR_NONE },
	{ "passphrase with a trailing space", "sed -i 's/$/ /' $S/" A ".pass",
	    A, CERT_BROKEN, "passphrase", ERR_NONE },
	{ "passphrase cut by a NUL", "printf 'p\\0w\\n' > $S/" A ".pass", A,
	    CERT_BROKEN, "passphrase", ERR_NONE },
	{ "passphrase of 100000 bytes", "head -c 100000 /dev/zero | tr '\\0' "
	    "a > $S/" A ".pass", A, CERT_BROKEN, "passphrase", ERR_NONE },
	{ "a 20 MB .p12", "head -c 20000000 /dev/zero > $S/" A ".p12", A,
	    CERT_BROKEN, NULL, ERR_NONE },
	{ ".p12 a symbolic link to a copy outside the store", "cp -p $S/" A
	    ".p12 $P/outside-copy.p12 && ln -sf $P/outside-copy.p12 $S/" A
	    ".p12", A, CERT_BROKEN, "symbolic link", ERR_ANY },
	{ ".p12 a symbolic link to bob's", "ln -sf " B ".p12 $S/" A ".p12", A,
	    CERT_BROKEN, NULL, ERR_ANY },
	{ ".pass a symbolic link to /etc/shadow", "ln -sf /etc/shadow $S/" A
	    ".pass", A, CERT_BROKEN, NULL, ERR_ANY },
	{ ".pass a symbolic link to a copy outside", "cp -p $S/" A ".pass "
	    "$P/outside-copy.pass && ln -sf $P/outside-copy.pass $S/" A
	    ".pass", A, CERT_BROKEN, "symbolic link", ERR_ANY },
	/* --- stores the officer cannot vouch for */
	{ ".p12 owned by another user", "chown nobody $S/" A ".p12", A,
	    CERT_BROKEN, NULL, ERR_YES },
	{ ".pass owned by another user", "chown nobody $S/" A ".pass", A,
	    CERT_BROKEN, NULL, ERR_YES },
	{ ".pass readable by group", "chmod 640 $S/" A ".pass", A,
	    CERT_BROKEN, NULL, ERR_YES },
	{ "store folder writable by its group", "chmod 770 $S", A, CERT_OK,
	    NULL, ERR_YES },
	{ "store folder owned by another user", "chown nobody $S", A, CERT_OK,
	    NULL, ERR_YES },
	{ "revoked.list writable by others", RL("'%s\\t%s\\tx\\tt\\tr\\n' "
	    "$ser \"$iss\"") " && chmod 666 $S/revoked.list", A, CERT_REVOKED,
	    NULL, ERR_YES },
	{ "revoked.list a folder (unreadable)", "mkdir $S/revoked.list", A,
	    CERT_BROKEN, "revoked.list", ERR_YES },
	{ "revoked.list a dangling symbolic link", "ln -s nowhere "
	    "$S/revoked.list", A, CERT_BROKEN, "revoked.list", ERR_YES },
	/* --- revoked.list edited by hand: alice stays revoked */
	{ "list: as segelctl writes it", RL("'%s\\t%s\\t%s\\t%s\\t%s\\n' "
	    "$ser \"$iss\" " A " 2026-11-01T00:00:00Z lost"), A, CERT_REVOKED,
	    "lost", ERR_NONE },
	{ "list: comments, blank lines, CRLF", RL("'# kept by hand\\r\\n\\r\\n"
	    "junk line\\r\\n%s\\t%s\\t" A "\\tt\\tlost\\r\\n' $ser \"$iss\""), A,
	    CERT_REVOKED, NULL, ERR_NONE },
	{ "list: lower case, leading zeros", "ser=$(openssl x509 -noout "
	    "-serial -in $P/staff/" A ".pem | cut -d= -f2 | tr A-F a-f); "
	    "iss='CN=Test BSrE Issuing CA,O=Balai Besar Sertifikasi Elektronik"
	    " (TEST),C=ID'; printf '00%s\\t%s\\n' $ser \"$iss\" > "
	    "$S/revoked.list", A, CERT_REVOKED, NULL, ERR_NONE },
	{ "list: serial with colons (as openssl -text shows it)",
	    RL("'%s\\t%s\\n' $(echo $ser | sed 's/../&:/g; s/:$//') \"$iss\""),
	    A, CERT_REVOKED, NULL, ERR_NONE },
	{ "list: serial with 0x", RL("'0x%s\\t%s\\n' $ser \"$iss\""), A,
	    CERT_REVOKED, NULL, ERR_NONE },
	{ "list: spaces around the fields", RL("'  %s  \\t %s \\n' $ser "
	    "\"$iss\""), A, CERT_REVOKED, NULL, ERR_NONE },
	{ "list: spaces instead of tabs", RL("'%s %s " A "\\n' $ser \"$iss\""),
	    A, CERT_REVOKED, NULL, ERR_NONE },
	{ "list: serial alone", RL("'%s\\n' $ser"), A, CERT_REVOKED, NULL,
	    ERR_NONE },
	{ "list: issuer with spaces after commas", RL("'%s\\t%s\\n' $ser "
	    "\"$(echo $iss | sed 's/,/, /g')\""), A, CERT_REVOKED, NULL,
	    ERR_NONE },
	{ "list: byte order mark", RL("'\\357\\273\\277%s\\t%s\\n' $ser "
	    "\"$iss\""), A, CERT_REVOKED, NULL, ERR_NONE },
	{ "list: other issuer does not revoke", RL("'%s\\tCN=Other CA\\n' "
	    "$ser"), A, CERT_OK, NULL, ERR_NONE },
	{ "list: longer serial does not revoke", RL("'%s00\\t%s\\n' $ser "
	    "\"$iss\""), A, CERT_OK, NULL, ERR_NONE },
};

START_TEST(store_table)
{
	const struct cert_entry *e = NULL;
	enum cert_status st;
	struct tl_store f;
	char dir[64];
	size_t i;
	bool err;
	int j;

	snprintf(dir, sizeof(dir), "store%d", _i);
	make_store(dir, store_cases[_i].setup);
	tl_store_load(&f, pkidir, dir, DOM, "");
	st = certstore_lookup(f.cs, store_cases[_i].addr, time(NULL), &e);
	if (store_cases[_i].want == CERT_BROKEN &&
	    store_cases[_i].problem == NULL)
		ck_assert_msg(st != CERT_OK, "%s: signs (%s)",
		    store_cases[_i].name, diag_text(&f.d));
	else
		ck_assert_msg(st == store_cases[_i].want, "%s: got %s, want %s "
		    "(%s) %s", store_cases[_i].name, cert_status_name(st),
		    cert_status_name(store_cases[_i].want),
		    e && e->problem ? e->problem : "-", diag_text(&f.d));
	if (store_cases[_i].problem != NULL)
		ck_assert_msg(e != NULL && e->problem != NULL &&
		    strstr(e->problem, store_cases[_i].problem), "%s: problem "
		    "%s, want \"%s\"", store_cases[_i].name, e && e->problem ?
		    e->problem : "-", store_cases[_i].problem);
	/* the chain sent with every signature: CA certificates only */
	for (j = 0; e != NULL && j < sk_X509_num(e->chain); j++)
		ck_assert_msg(X509_check_ca(sk_X509_value(e->chain, j)) != 0,
		    "%s: a non-CA certificate in the chain",
		    store_cases[_i].name);
	err = diag_count(&f.d, DIAG_ERROR) > 0;
	if (store_cases[_i].err != ERR_ANY)
		ck_assert_msg(err == (store_cases[_i].err == ERR_YES), "%s: %s "
		    "error: %s", store_cases[_i].name, err ? "an" : "no",
		    diag_text(&f.d));
	for (i = 0; i < f.d.n; i++)
		ck_assert_msg(strpbrk(f.d.items[i].msg, "\r\n") == NULL &&
		    strpbrk(f.d.items[i].file, "\r\n") == NULL, "%s: a line "
		    "end in a diagnostic: %s", store_cases[_i].name,
		    diag_text(&f.d));
	tl_store_free(&f);
}
END_TEST

/*
 * revoked.list edited by root into a file only root reads, with the
 * daemon running as another user: -n and segelctl (root) must say so,
 * for the daemon's reload would fail on it and keep the old store.
 */
START_TEST(list_unreadable_by_user)
{
	struct tl_store f;
	char *rl;

	make_store("rluser", RL("'%s\\t%s\\n' $ser \"$iss\"") " && chmod 600 "
	    "$S/revoked.list");
	memset(&f, 0, sizeof(f));
	f.c.path = "segel.conf";
	f.c.domain = (char *)DOM;
	f.c.user = (char *)"nobody";
	f.c.trust_file = xstrdup(P("trust.pem"));
	f.c.crl_dir = xstrdup(P("crl"));
	f.c.cert_dir = xstrdup(P("rluser"));
	diag_init(&f.d);
	f.p = pki_load(&f.c, &f.d);
	f.cs = certstore_load(&f.c, f.p, &f.d);
	rl = xasprintf("%s/revoked.list", f.c.cert_dir);
	ck_assert_msg(diag_count(&f.d, DIAG_ERROR) == 1 &&
	    strcmp(f.d.items[0].file, rl) == 0, "want one error for "
	    "revoked.list: %s", diag_text(&f.d));
	free(rl);
	tl_store_free(&f);
}
END_TEST

/* storeadmin_install on its own: no address may leave cert_dir. */
START_TEST(install_address)
{
	static const char *bad[] = { "../x@" DOM, "a/b@" DOM, ".hidden@" DOM,
	    "" };
	struct sbuf p12, err;
	char *kept;
	size_t i;

	tl_sh("rm -rf %s && mkdir -p %s/a", P("inst"), P("inst/s"));
	sbuf_init(&p12);
	sbuf_adds(&p12, "not really a p12");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sbuf_init(&err);
		ck_assert_msg(storeadmin_install(P("inst/s"), bad[i], NULL,
		    time(NULL), &p12, "pw", &kept, &err) == -1, "%s installed",
		    bad[i]);
		sbuf_free(&err);
	}
	tl_sh("test -z \"$(find %s -name '*.p12' -o -name '*.pass')\"",
	    P("inst"));
	sbuf_free(&p12);
}
END_TEST

/* A FIFO as .pass must not stop the load (nobody writes to it). */
START_TEST(pass_fifo)
{
	const struct cert_entry *e;
	struct tl_store f;

	make_store("fifo", "rm $S/" A ".pass && mkfifo -m 600 $S/" A ".pass");
	tl_store_load(&f, pkidir, "fifo", DOM, "");
	ck_assert_int_ne(certstore_lookup(f.cs, A, time(NULL), &e), CERT_OK);
	ck_assert_int_eq(certstore_lookup(f.cs, B, time(NULL), &e), CERT_OK);
	tl_store_free(&f);
}
END_TEST

/*
 * segelctl (root) on a store: the helpers every script gets. $W the case
 * folder, $S its store (a copy of certs/), ctl ARGS runs segelctl with out
 * and err in $W, RC its exit.
 */
static const char ctl_lib[] =
    "set -u\n"
    "D=tanjungpinangkota.go.id A=alice@tanjungpinangkota.go.id\n"
    "B=bob@tanjungpinangkota.go.id\n"
    "[ -x \"$CTL\" ] || { echo \"no $CTL\"; exit 77; }\n"
    "M=\"/usr/bin/python3 $P/mk.py $P\" W=$PWD S=$PWD/S\n"
    "rm -rf \"$S\" && cp -a \"$P/certs\" \"$S\" || exit 1\n"
    "cat > \"$W/c.conf\" <<EOF\n"
    "domain = \"$D\";\nauthserv_id = \"mail.$D\";\n"
    "socket = \"unix:$W/s.sock\";\nuser = \"\";\n"
    "pki: { trust_file = \"$P/trust.pem\"; crl_dir = \"$P/crl\"; };\n"
    "sign: { cert_dir = \"$S\"; };\naudit: { file = \"$W/audit.log\"; };\n"
    "EOF\n"
    "ctl() { \"$CTL\" -c \"$W/c.conf\" \"$@\" >\"$W/out\" 2>\"$W/err\"; "
    "RC=$?; }\n"
    "die() { echo \"FAIL: $*\"; cat \"$W/out\" \"$W/err\"; exit 1; }\n";

static const struct {
	const char *name, *script;	/* exits 0 when segel behaves */
} ctl_cases[] = {
	{ "import --address naming an address the certificate lacks",
	    "ctl import $P/certs/$A.p12 --pass-file $P/certs/$A.pass "
	    "--address $B\n[ $RC = 1 ] || die rc $RC\n"
	    "cmp -s $S/$B.p12 $P/certs/$B.p12 || die bob replaced\n" },
	{ "import of a certificate naming ../x@ (path traversal)",
	    "$M $W/t.p12 pw san=../x@$D && echo pw > $W/t.pass || exit 1\n"
	    "ctl import $W/t.p12 --pass-file $W/t.pass\n"
	    "[ ! -e $W/x@$D.p12 ] || die written outside the store\n"
	    "[ $RC = 1 ] || die rc $RC\n" },
	{ "import of a certificate naming a/b@ (a slash)",
	    "mkdir $S/a && $M $W/t.p12 pw san=a/b@$D && echo pw > $W/t.pass "
	    "|| exit 1\nctl import $W/t.p12 --pass-file $W/t.pass\n"
	    "[ ! -e $S/a/b@$D.p12 ] || die written into a sub-folder\n"
	    "[ $RC = 1 ] || die rc $RC\n" },
	{ "history/ a symbolic link planted by the daemon's user",
	    "chown nobody $S && mkdir -m 700 $W/elsewhere && "
	    "ln -s $W/elsewhere $S/history || exit 1\n"
	    "ctl import $P/certs/$A.p12 --pass-file $P/certs/$A.pass\n"
	    "[ \"$(stat -c %U $W/elsewhere)\" = root ] || die chowned\n"
	    "[ -z \"$(ls -A $W/elsewhere)\" ] || die keys linked out of the "
	    "store: $(ls $W/elsewhere)\n" },
	{ "revoked.list a symbolic link to a secret of root",
	    "echo TOPSECRET > $W/secret && chmod 600 $W/secret && "
	    "ln -s $W/secret $S/revoked.list || exit 1\n"
	    "ctl revoke $A --reason test\n"
	    "! grep -rqs TOPSECRET $S || die the secret copied into the store\n"
	    "[ \"$(cat $W/secret)\" = TOPSECRET ] || die secret changed\n" },
	{ ".segelctl.lock a symbolic link to a new file elsewhere",
	    "ln -s $W/created $S/.segelctl.lock || exit 1\n"
	    "ctl revoke $A --reason test\n"
	    "[ ! -e $W/created ] || die root created $W/created\n" },
	{ "no passphrase in output, audit log, or a readable file",
	    "ctl import $P/certs/$A.p12 --pass-file $P/certs/$A.pass\n"
	    "[ $RC = 0 ] || die rc $RC\npw=$(cat $P/certs/$A.pass)\n"
	    "! grep -qF \"$pw\" $W/out $W/err $W/audit.log || die leaked\n"
	    "[ \"$(stat -c %a $S/history)\" = 700 ] || die history mode\n"
	    "[ -z \"$(find $S -perm /077 -type f)\" ] || die modes\n"
	    "[ -z \"$(find $S -name '*.tmp*')\" ] || die temp files left\n" },
	{ "revoke by an upper-case address is final",
	    "ctl revoke ALICE@TanjungPinangKota.GO.ID --reason lost\n"
	    "[ $RC = 0 ] || die revoke rc $RC\n"
	    "ctl import $P/certs/$A.p12 --pass-file $P/certs/$A.pass\n"
	    "[ $RC = 1 ] || die re-import rc $RC\n"
	    "ctl import $P/certs/$A.p12 --pass-file $P/certs/$A.pass "
	    "--address $B\n[ $RC = 1 ] || die as bob rc $RC\n"
	    "cp -p $S/$A.p12 $S/$A.pass $W/ && rm $S/$A.p12 $S/$A.pass && "
	    "cp -p $W/$A.p12 $S/ && cp -p $W/$A.pass $S/ || exit 1\n"
	    "ctl show $A\ngrep -q 'status: *revoked' $W/out || die not revoked\n"
	    "$M $W/n.p12 pw san=$A && echo pw > $W/n.pass || exit 1\n"
	    "ctl import $W/n.p12 --pass-file $W/n.pass\n"
	    "[ $RC = 0 ] || die a new certificate for alice refused\n" },
	{ "a passphrase ending in spaces imports and loads",
	    "$M $W/t.p12 'pw  ' san=$A && printf 'pw  \\n' > $W/t.pass || "
	    "exit 1\nctl import $W/t.p12 --pass-file $W/t.pass\n"
	    "[ $RC = 0 ] || die import rc $RC\nctl show $A\n"
	    "grep -q 'status: *valid' $W/out || die not valid\n" },
	{ "five revokes at once: none lost",
	    "for u in alice bob app ec legacy; do\n"
	    "  \"$CTL\" -c $W/c.conf revoke $u@$D --reason r >/dev/null 2>&1 &\n"
	    "done\nwait\n"
	    "[ \"$(grep -c @ $S/revoked.list)\" = 5 ] || die lost: "
	    "$(cat $S/revoked.list)\n" },
};

START_TEST(ctl_table)
{
	char *dir = P("ctl%d", _i);

	tl_sh("rm -rf %s && mkdir -p %s", dir, dir);
	if (!tl_script(dir, pkidir, ctl_cases[_i].script))
		fprintf(stderr, "%s: skipped\n", ctl_cases[_i].name);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("attack_store");
	TCase *tc = tcase_create("store"), *tf = tcase_create("fifo");
	TCase *tctl = tcase_create("segelctl");
	const char *bd;
	char *lib, *src;
	int rc;

	umask(077);
	if (geteuid() != 0) {
		fprintf(stderr, "test_attack_store: needs root (chown, mknod, "
		    "segelctl as the officer runs it): skipped\n");
		return 77;
	}
	if (mkdtemp(pkidir) == NULL ||
	    tl_gen_pki(pkidir, "certs/legacy@" DOM ".p12") != 0)
		return EXIT_FAILURE;
	chmod(pkidir, 0755);	/* nobody must reach the store copies */
	tl_write(pkidir, "mk.py", mk_py);
	bd = getenv("SEGEL_BUILD_DIR") ? getenv("SEGEL_BUILD_DIR") : "build";
	src = realpath(tl_srcdir(), NULL);
	lib = xasprintf("CTL='%s%s%s/segelctl'\n%s", bd[0] == '/' ? "" : src,
	    bd[0] == '/' ? "" : "/", bd, ctl_lib);
	free(src);
	tl_write(pkidir, "lib.sh", lib);
	free(lib);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, store_table, 0,
	    sizeof(store_cases) / sizeof(store_cases[0]));
	tcase_add_test(tc, install_address);
	tcase_add_test(tc, list_unreadable_by_user);
	tcase_set_timeout(tf, 10);
	tcase_add_test(tf, pass_fifo);
	tcase_set_timeout(tctl, 120);
	tcase_add_loop_test(tctl, ctl_table, 0,
	    sizeof(ctl_cases) / sizeof(ctl_cases[0]));
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tf);
	suite_add_tcase(s, tctl);
	rc = tl_run(s);
	tl_rmtree(pkidir);
	return rc;
}
