/*
 * test_verify.c - smime_verify on messages signed here, in a temporary
 * folder, by independent tools: the openssl command, Python cryptography's
 * PKCS7SignatureBuilder and gpgsm, with the test PKI of tests/pki/gen.
 *
 * Each table row is a shell snippet that writes m.eml (and optionally
 * now.txt, the arrival time to use) and the result expected for it.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "authres.h"
#include "conf.h"
#include "diag.h"
#include "msgbuf.h"
#include "pki.h"
#include "testlib.h"
#include "util.h"
#include "verify.h"

static char *pkidir;		/* tmpdir/pki */
static char tmpdir[] = "/tmp/segel-test-verify.XXXXXX";
static struct pki *pki;

/* Shell helpers every case can use; P is the PKI, S its staff folder. */
static const char shlib[] =
    "set -e\n"
    "S=$P/staff; A=alice@tanjungpinangkota.go.id; B=bob@tanjungpinangkota.go.id\n"
    "hdr() { printf 'From: %s\\nTo: kepala@tanjungpinangkota.go.id\\n"
    "Subject: Surat resmi\\nMessage-ID: <t@x>\\n' \"$1\"; }\n"
    "content() { printf 'Content-Type: text/plain; charset=us-ascii\\r\\n\\r\\n"
    "Halo Bapak/Ibu,\\r\\nIni surat resmi.\\r\\n' > content.txt; }\n"
    /* sign CERT KEY [openssl cms options] */
    "sign() { c=$1; k=$2; shift 2; content; openssl cms -sign -in content.txt "
    "-signer $c -inkey $k -certfile $P/chain.pem -binary \"$@\"; }\n"
    "staff() { u=$1; shift; sign $S/$u.pem $S/$u.key \"$@\"; }\n"
    "msg() { f=$1; shift; { hdr \"$f\"; \"$@\"; } > m.eml; }\n"
    "crlf() { sed -i 's/\\r*$/\\r/' \"$1\"; }\n"
    "notafter() { date -d \"$(openssl x509 -in $1 -noout -enddate | cut -d= -f2)\" +%s; }\n"
    /* issue NAME EXTENSIONS: NAME.pem/.key for alice, issued by the BSrE CA */
    "issue() { openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
    "-keyout $1.key -subj \"/CN=Test $1/emailAddress=$A\" -out $1.csr; printf '%s\\n' \"$2\" > $1.ext; "
    "openssl x509 -req -in $1.csr -CA $P/bsre.pem -CAkey $P/bsre.key -set_serial 0x$(od -An -N6 -tx1 /dev/urandom | tr -d ' ') "
    "-days 30 -extfile $1.ext -out $1.pem; }\n"
    /* gpgsm_sign CERT KEY FILE: FILE.sig, a detached DER signature by gpgsm */
    "gpgsm_sign() {\n"
    "  command -v gpgsm >/dev/null || exit 77\n"
    "  g=$PWD/g; mkdir -m 700 $g\n"
    "  printf '#!/bin/sh\\necho OK\\nwhile read -r c r; do case $c in GETPIN) echo \"D segel\"; echo OK;; BYE) echo OK; exit 0;; *) echo OK;; esac; done\\n' > $g/pin.sh\n"
    "  chmod +x $g/pin.sh; echo \"pinentry-program $g/pin.sh\" > $g/gpg-agent.conf\n"
    "  echo \"$(openssl x509 -in $P/root.pem -noout -fingerprint -sha1 | cut -d= -f2) S relax\" > $g/trustlist.txt\n"
    "  echo disable-crl-checks > $g/gpgsm.conf\n"
    "  gpgsm --homedir $g --batch --import $P/root.pem $P/bsre.pem\n"
    /* gpgsm cannot read about one PKCS#12 in twenty (it depends on the
     * random salt): export again until it can */
    "  for try in 1 2 3 4 5 6; do openssl pkcs12 -export -keypbe PBE-SHA1-3DES "
    "-certpbe PBE-SHA1-3DES -macalg sha1 -in $1 -inkey $2 -passout pass:segel -out $g/k.p12\n"
    "    gpgsm --homedir $g --batch --import $g/k.p12 2>&1 | grep -q 'secret keys imported: 1' && break; done\n"
    "  gpgsm --homedir $g --batch --detach-sign --include-certs -1 "
    "-u \"$(openssl x509 -in $1 -noout -email | head -1)\" $3 > $3.sig; rc=$?\n"
    "  gpgconf --homedir $g --kill gpg-agent; return $rc\n"
    "}\n"
    /* mps FILE SIG: multipart/signed of FILE's bytes and the DER SIG */
    "mps() {\n"
    "  printf 'MIME-Version: 1.0\\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"=-gpgsm-=\"\\n\\n--=-gpgsm-=\\n'\n"
    "  cat $1; printf '\\r\\n--=-gpgsm-=\\nContent-Type: application/pkcs7-signature; name=smime.p7s\\nContent-Transfer-Encoding: base64\\n\\n'\n"
    "  base64 -w 64 $2; printf -- '--=-gpgsm-=--\\n'\n"
    "}\n";

#define GLUE_STYLE 1

/* The header block without its empty line, every line end CRLF. */
static char *
crlf_lines(char *h)
{
	struct sbuf b;
	char *p;

	sbuf_init(&b);
	for (p = h; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			sbuf_adds(&b, "\r\n");
		else
			sbuf_add(&b, p, 1);
	}
	free(h);
	if (b.len >= 4 && memcmp(b.s + b.len - 4, "\r\n\r\n", 4) == 0)
		b.len -= 2;
	b.s[b.len] = '\0';
	return sbuf_steal(&b);
}

/*
 * Splits a stored message into its header block and body and verifies it;
 * threshold GLUE_STYLE passes the header block as glue.c does.
 */
static int
verify_mem_pki(const struct pki *pk, const char *msg, size_t n,
    size_t threshold, const char *from, time_t now, struct verify_result *res)
{
	const char *sep = NULL, *p;
	struct msgbuf *mb = msgbuf_new(threshold, NULL);
	char *headers;
	size_t hl;
	int rc;

	for (p = msg; p < msg + n; p++) {
		if (*p != '\n')
			continue;
		if (p + 1 < msg + n && p[1] == '\n') {
			sep = p + 2;
			break;
		}
		if (p + 2 < msg + n && p[1] == '\r' && p[2] == '\n') {
			sep = p + 3;
			break;
		}
	}
	if (sep == NULL)
		sep = msg + n;
	hl = (size_t)(sep - msg);
	headers = xstrndup(msg, hl);
	if (threshold == GLUE_STYLE) {
		/* as glue.c passes them: "Name: value\r\n" lines, no empty line */
		headers = crlf_lines(headers);
		threshold = 1 << 20;
	}
	ck_assert_int_eq(msgbuf_append(mb, sep, n - hl), 0);
	rc = smime_verify(pk, headers, mb, from, now, res);
	free(headers);
	msgbuf_free(mb);
	return rc;
}

static int
verify_mem(const char *msg, size_t n, size_t threshold, const char *from,
    time_t now, struct verify_result *res)
{
	return verify_mem_pki(pki, msg, n, threshold, from, now, res);
}

struct vcase {
	const char *name;
	const char *make;	/* writes m.eml (and now.txt) */
	const char *from;
	enum ar_result want;
	const char *part;	/* expected, or NULL: not checked */
	const char *ident;
	const char *comment;	/* a substring of the comment */
};

#define ALICE "alice@tanjungpinangkota.go.id"
#define BOB "bob@tanjungpinangkota.go.id"
#define GARBAGE_MPS \
	"printf 'Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=BB\\n\\n--BB\\nContent-Type: text/plain\\n\\nhi\\n--BB\\nContent-Type: application/pkcs7-signature\\nContent-Transfer-Encoding: base64\\n\\n%s\\n--BB--\\n' "

static const struct vcase cases[] = {
	{ "openssl multipart", "msg $A staff $A", ALICE, AR_PASS, "2", ALICE,
	  "signature valid; signer Alice Wulandari, Pemerintah Kota Tanjungpinang" },
	{ "openssl multipart stored CRLF", "msg $A staff $A; crlf m.eml", ALICE,
	  AR_PASS, "2", ALICE, NULL },
	{ "openssl multipart stored LF only", "msg $A staff $A; sed -i 's/\\r$//' m.eml",
	  ALICE, AR_PASS, "2", ALICE, NULL },
	{ "openssl opaque", "msg $A staff $A -nodetach", ALICE, AR_PASS, "1",
	  ALICE, "signature valid" },
	{ "opaque without smime-type (Outlook)",
	  "msg $A staff $A -nodetach; sed -i 's/ smime-type=signed-data;//' m.eml; "
	  "! grep -q smime-type m.eml", ALICE, AR_PASS, "1", ALICE, NULL },
	{ "opaque x-pkcs7-mime",
	  "msg $A staff $A -nodetach; sed -i 's#application/pkcs7-mime#application/x-pkcs7-mime#' m.eml",
	  ALICE, AR_PASS, "1", ALICE, NULL },
	{ "protocol x-pkcs7-signature",
	  "msg $A staff $A; sed -i 's#pkcs7-signature#x-pkcs7-signature#g' m.eml",
	  ALICE, AR_PASS, "2", ALICE, NULL },
	{ "ECDSA signer", "msg ec@tanjungpinangkota.go.id staff ec@tanjungpinangkota.go.id",
	  "ec@tanjungpinangkota.go.id", AR_PASS, "2", "ec@tanjungpinangkota.go.id", NULL },
	{ "From compared case-insensitively", "msg $A staff $A",
	  "ALICE@TanjungPinangKota.GO.ID", AR_PASS, "2", ALICE, NULL },
	{ "tampered content", "msg $A staff $A; sed -i 's/resmi/palsu/' m.eml",
	  ALICE, AR_FAIL, "2", ALICE, "signature does not match content" },
	{ "trailing whitespace added", "msg $A staff $A; sed -i 's/resmi\\.\\r$/resmi. \\r/' m.eml; grep -q 'resmi. ' m.eml",
	  ALICE, AR_FAIL, "2", NULL, "signature does not match content" },
	{ "outside CA", "msg outsider@example.org sign $P/outside/signer.pem $P/outside/signer.key",
	  "outsider@example.org", AR_FAIL, "2", "outsider@example.org",
	  "certificate not issued by a trusted CA" },
	{ "staff cert issued by the outside CA", "msg mallory@tanjungpinangkota.go.id "
	  "staff mallory@tanjungpinangkota.go.id", "mallory@tanjungpinangkota.go.id",
	  AR_FAIL, "2", NULL, "certificate not issued by a trusted CA" },
	{ "revoked (CRL)", "msg dave@tanjungpinangkota.go.id staff dave@tanjungpinangkota.go.id",
	  "dave@tanjungpinangkota.go.id", AR_FAIL, "2", "dave@tanjungpinangkota.go.id",
	  "certificate revoked" },
	{ "expired", "msg carol@tanjungpinangkota.go.id staff carol@tanjungpinangkota.go.id",
	  "carol@tanjungpinangkota.go.id", AR_FAIL, "2", NULL, "certificate expired" },
	{ "not yet valid", "msg frank@tanjungpinangkota.go.id staff frank@tanjungpinangkota.go.id",
	  "frank@tanjungpinangkota.go.id", AR_FAIL, "2", NULL, "not yet valid" },
	{ "EKU anyExtendedKeyUsage is accepted (RFC 8550 4.4.4)",
	  "issue any 'keyUsage=critical,digitalSignature\nextendedKeyUsage=anyExtendedKeyUsage'; "
	  "msg $A sign any.pem any.key", ALICE, AR_PASS, "2", ALICE, "signer Test any" },
	{ "EKU serverAuth only is refused",
	  "issue srv 'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth'; "
	  "msg $A sign srv.pem srv.key", ALICE, AR_FAIL, "2", NULL,
	  "certificate not for e-mail signing" },
	{ "anyExtendedKeyUsage with KeyUsage keyEncipherment only is refused",
	  "issue ke 'keyUsage=critical,keyAgreement\nextendedKeyUsage=anyExtendedKeyUsage'; "
	  "msg $A sign ke.pem ke.key", ALICE, AR_FAIL, "2", NULL,
	  "certificate not for e-mail signing" },
	{ "signer is not From", "msg $B staff $A", BOB, AR_POLICY, "2", ALICE,
	  "signer alice@tanjungpinangkota.go.id is not the From address" },
	{ "no From address", "msg $A staff $A", NULL, AR_POLICY, "2", ALICE, "not the From" },
	{ "SHA-1 digest", "msg $A staff $A -md sha1", ALICE, AR_POLICY, "2", ALICE,
	  "weak digest SHA-1" },
	{ "SHA-1 digest, opaque", "msg $A staff $A -md sha1 -nodetach", ALICE,
	  AR_POLICY, "1", ALICE, "weak digest SHA-1" },
	{ "SHA-512 digest", "msg $A staff $A -md sha512", ALICE, AR_PASS, "2", ALICE, NULL },
	{ "signer certificate not in the message", "msg $A staff $A -nocerts",
	  ALICE, AR_PERMERROR, "2", NULL, "signer certificate not in the message" },
	{ "garbage CMS", "{ hdr $A; " GARBAGE_MPS "\"$(head -c 700 /dev/urandom | base64 -w 64)\"; } > m.eml",
	  ALICE, AR_NEUTRAL, "2", NULL, "signature unparseable" },
	{ "signature part not base64", "{ hdr $A; " GARBAGE_MPS "'!!!***'; } > m.eml",
	  ALICE, AR_NEUTRAL, "2", NULL, NULL },
	{ "enveloped-data instead of a signature",
	  "content; openssl cms -encrypt -aes256 -in content.txt -outform DER -out e.der $S/$B.pem; "
	  "{ hdr $A; " GARBAGE_MPS "\"$(base64 -w 64 e.der)\"; } > m.eml",
	  ALICE, AR_NEUTRAL, "2", NULL, "signature unparseable" },
	{ "boundaries missing",
	  "{ hdr $A; printf 'Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=ZZ\\n\\nno delimiters at all\\n'; } > m.eml",
	  ALICE, AR_NEUTRAL, "2", NULL, "malformed multipart/signed" },
	{ "truncated after part 1", "msg $A staff $A; n=$(grep -n '^------' m.eml | sed -n 2p | cut -d: -f1); "
	  "head -n $((n-1)) m.eml > t && mv t m.eml", ALICE, AR_NEUTRAL, "2", NULL, NULL },
	{ "encrypted", "content; { hdr $A; openssl cms -encrypt -aes256 -in content.txt $S/$B.pem; } > m.eml",
	  ALICE, AR_SKIP, NULL, NULL, "encrypted, cannot be checked" },
	{ "encrypted without smime-type",
	  "content; { hdr $A; openssl cms -encrypt -aes256 -in content.txt $S/$B.pem; } > m.eml; "
	  "sed -i 's/ smime-type=enveloped-data;//' m.eml", ALICE, AR_SKIP, NULL, NULL,
	  "encrypted" },
	{ "multipart/encrypted",
	  "{ hdr $A; printf 'Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=E\\n\\n--E\\nContent-Type: application/pgp-encrypted\\n\\nVersion: 1\\n--E\\nContent-Type: application/octet-stream\\n\\n-----BEGIN PGP MESSAGE-----\\n--E--\\n'; } > m.eml",
	  ALICE, AR_SKIP, NULL, NULL, "encrypted" },
	{ "signature over encrypted content",
	  "content; openssl cms -encrypt -aes256 -in content.txt -out enc.eml $S/$B.pem; crlf enc.eml; "
	  "{ hdr $A; openssl cms -sign -binary -in enc.eml -signer $S/$A.pem -inkey $S/$A.key -certfile $P/chain.pem; } > m.eml",
	  ALICE, AR_SKIP, NULL, NULL, "signed content is encrypted" },
	{ "PGP multipart/signed is not S/MIME",
	  "{ hdr $A; printf 'Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; micalg=pgp-sha256; boundary=G\\n\\n--G\\nContent-Type: text/plain\\n\\nhi\\n--G\\nContent-Type: application/pgp-signature\\n\\n-----BEGIN PGP SIGNATURE-----\\n--G--\\n'; } > m.eml",
	  ALICE, AR_NONE, NULL, NULL, NULL },
	{ "unsigned", "{ hdr $A; printf 'Content-Type: text/plain\\n\\nHalo\\n'; } > m.eml",
	  ALICE, AR_NONE, NULL, NULL, NULL },
	{ "no Content-Type at all", "{ hdr $A; printf '\\nHalo\\n'; } > m.eml",
	  ALICE, AR_NONE, NULL, NULL, NULL },
	{ "signed first part of multipart/mixed with a list footer",
	  "staff $A > s.eml; { hdr $A; printf 'MIME-Version: 1.0\\nContent-Type: multipart/mixed; boundary=LIST\\n\\n--LIST\\n'; "
	  "cat s.eml; printf '\\n--LIST\\nContent-Type: text/plain\\n\\n-- \\nmilis@kepriprov.go.id\\n--LIST--\\n'; } > m.eml",
	  ALICE, AR_PASS, "1.2", ALICE, "signature valid" },
	{ "signed first part of multipart/mixed, tampered",
	  "staff $A > s.eml; { hdr $A; printf 'MIME-Version: 1.0\\nContent-Type: multipart/mixed; boundary=LIST\\n\\n--LIST\\n'; "
	  "cat s.eml; printf '\\n--LIST\\nContent-Type: text/plain\\n\\nfooter\\n--LIST--\\n'; } > m.eml; sed -i 's/resmi/palsu/' m.eml",
	  ALICE, AR_FAIL, "1.2", NULL, "does not match" },
	{ "opaque first part of multipart/mixed with a list footer",
	  "staff $A -nodetach > s.eml; { hdr $A; printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=LIST\n\n--LIST\n'; "
	  "cat s.eml; printf '\n--LIST\nContent-Type: text/plain\n\nfooter\n--LIST--\n'; } > m.eml",
	  ALICE, AR_PASS, "1", ALICE, "signature valid" },
	{ "encrypted first part of multipart/mixed with a list footer",
	  "content; openssl cms -encrypt -aes256 -in content.txt -out s.eml $S/$B.pem; "
	  "{ hdr $A; printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=LIST\n\n--LIST\n'; "
	  "cat s.eml; printf '\n--LIST\nContent-Type: text/plain\n\nfooter\n--LIST--\n'; } > m.eml",
	  ALICE, AR_SKIP, NULL, NULL, "encrypted" },
	{ "signed second part of multipart/mixed is not covering the message",
	  "staff $A > s.eml; { hdr $A; printf 'MIME-Version: 1.0\\nContent-Type: multipart/mixed; boundary=LIST\\n\\n--LIST\\nContent-Type: text/plain\\n\\nheader\\n--LIST\\n'; "
	  "cat s.eml; printf '\\n--LIST--\\n'; } > m.eml",
	  ALICE, AR_NONE, NULL, NULL, NULL },
	{ "Python cryptography PKCS7SignatureBuilder (partner)",
	  "content; /usr/bin/python3 ../pysign.py $P/partner/sari.pem $P/partner/sari.key $P/chain.pem content.txt > s.eml; "
	  "{ hdr sari@kepriprov.go.id; cat s.eml; } > m.eml",
	  "sari@kepriprov.go.id", AR_PASS, "2", "sari@kepriprov.go.id",
	  "signature valid; signer Sari, Pemerintah Provinsi Kepulauan Riau" },
	{ "gpgsm (partner)",
	  "content; gpgsm_sign $P/partner/sari.pem $P/partner/sari.key content.txt; "
	  "{ hdr sari@kepriprov.go.id; mps content.txt content.txt.sig; } > m.eml",
	  "sari@kepriprov.go.id", AR_PASS, "2", "sari@kepriprov.go.id",
	  "signature valid; signer Sari, Pemerintah Provinsi Kepulauan Riau" },
	{ "gpgsm (staff), stored LF only",
	  "content; gpgsm_sign $S/$B.pem $S/$B.key content.txt; "
	  "{ hdr $B; mps content.txt content.txt.sig; } > m.eml; sed -i 's/\\r$//' m.eml",
	  BOB, AR_PASS, "2", BOB, NULL },
	{ "too many certificates",
	  "/usr/bin/python3 ../manycerts.py 80 > many.pem; msg $A staff $A -certfile many.pem",
	  ALICE, AR_NEUTRAL, "2", NULL, "too many certificates" },
	/* the time rule: expired while in transit passes within 7 days */
	{ "expired in transit, within the grace",
	  "t=$(notafter $S/$A.pem); msg $A faketime @$((t-3600)) bash -c '. ../lib.sh; staff $A'; "
	  "echo $((t+2*86400)) > now.txt", ALICE, AR_PASS, "2", ALICE, NULL },
	{ "expired in transit, grace exceeded",
	  "t=$(notafter $S/$A.pem); msg $A faketime @$((t-3600)) bash -c '. ../lib.sh; staff $A'; "
	  "echo $((t+8*86400)) > now.txt", ALICE, AR_FAIL, "2", NULL, "certificate expired" },
	{ "back-dated signingTime on an expired certificate",
	  "C=carol@tanjungpinangkota.go.id; t=$(notafter $S/$C.pem); msg $C faketime @$((t-3600)) bash -c \". ../lib.sh; staff $C\"",
	  "carol@tanjungpinangkota.go.id", AR_FAIL, "2", NULL, "certificate expired" },
	{ "signingTime after arrival is no excuse",
	  "t=$(notafter $S/$A.pem); msg $A faketime @$((t+86400)) bash -c '. ../lib.sh; staff $A'; "
	  "echo $((t+3600)) > now.txt", ALICE, AR_FAIL, "2", NULL, "certificate expired" },
};

static const char pysign[] =
    "import sys\n"
    "from cryptography import x509\n"
    "from cryptography.hazmat.primitives import hashes, serialization\n"
    "from cryptography.hazmat.primitives.serialization import pkcs7\n"
    "cert = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())\n"
    "key = serialization.load_pem_private_key(open(sys.argv[2], 'rb').read(), None)\n"
    "chain = [x509.load_pem_x509_certificate(open(sys.argv[3], 'rb').read())]\n"
    "b = pkcs7.PKCS7SignatureBuilder().set_data(open(sys.argv[4], 'rb').read())\n"
    "b = b.add_signer(cert, key, hashes.SHA256())\n"
    "for c in chain:\n"
    "    b = b.add_certificate(c)\n"
    "sys.stdout.buffer.write(b.sign(serialization.Encoding.SMIME,\n"
    "    [pkcs7.PKCS7Options.DetachedSignature]))\n";

static const char manycerts[] =
    "import sys, datetime\n"
    "from cryptography import x509\n"
    "from cryptography.x509.oid import NameOID\n"
    "from cryptography.hazmat.primitives import hashes, serialization\n"
    "from cryptography.hazmat.primitives.asymmetric import ec\n"
    "k = ec.generate_private_key(ec.SECP256R1())\n"
    "now = datetime.datetime(2026, 1, 1)\n"
    "for i in range(int(sys.argv[1])):\n"
    "    n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'junk %d' % i)])\n"
    "    c = (x509.CertificateBuilder().subject_name(n).issuer_name(n)\n"
    "         .public_key(k.public_key()).serial_number(i + 1)\n"
    "         .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=9))\n"
    "         .sign(k, hashes.SHA256()))\n"
    "    sys.stdout.buffer.write(c.public_bytes(serialization.Encoding.PEM))\n";

/*
 * mkcrl.py ISSUER_CERT SIGNING_KEY LAST_UPDATE_AGE_S NEXT_UPDATE_IN_S
 * [CERT...]: a PEM CRL in ISSUER_CERT's name, signed with SIGNING_KEY (the
 * issuer's own key, or another one for a forgery), listing CERTs' serials.
 */
static const char mkcrl[] =
    "import sys, datetime\n"
    "from cryptography import x509\n"
    "from cryptography.hazmat.primitives import hashes, serialization\n"
    "iss = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())\n"
    "key = serialization.load_pem_private_key(open(sys.argv[2], 'rb').read(), None)\n"
    "now = datetime.datetime.utcnow()\n"
    "last = now - datetime.timedelta(seconds=int(sys.argv[3]))\n"
    "b = (x509.CertificateRevocationListBuilder().issuer_name(iss.subject)\n"
    "     .last_update(last)\n"
    "     .next_update(now + datetime.timedelta(seconds=int(sys.argv[4]))))\n"
    "for f in sys.argv[5:]:\n"
    "    c = x509.load_pem_x509_certificate(open(f, 'rb').read())\n"
    "    b = b.add_revoked_certificate(x509.RevokedCertificateBuilder()\n"
    "        .serial_number(c.serial_number).revocation_date(last).build())\n"
    "sys.stdout.buffer.write(b.sign(key, hashes.SHA256())\n"
    "    .public_bytes(serialization.Encoding.PEM))\n";

static void
check_result(const struct vcase *c, const struct verify_result *r)
{
	ck_assert_msg(r->result == c->want, "%s: result %s (%s), want %s",
	    c->name, ar_result_name(r->result), r->comment ? r->comment : "",
	    ar_result_name(c->want));
	if (c->want == AR_SKIP)
		ck_assert_msg(r->result == AR_SKIP, "%s: not skipped", c->name);
	if (c->part != NULL)
		ck_assert_msg(r->part != NULL && strcmp(r->part, c->part) == 0,
		    "%s: part %s, want %s", c->name, r->part ? r->part : "(null)",
		    c->part);
	if (c->ident != NULL)
		ck_assert_msg(r->identifier != NULL &&
		    strcmp(r->identifier, c->ident) == 0, "%s: identifier %s",
		    c->name, r->identifier ? r->identifier : "(null)");
	if (c->comment != NULL)
		ck_assert_msg(r->comment != NULL &&
		    strstr(r->comment, c->comment) != NULL,
		    "%s: comment \"%s\", want \"%s\"", c->name,
		    r->comment ? r->comment : "(null)", c->comment);
	if (r->result == AR_PASS || r->result == AR_POLICY) {
		ck_assert_ptr_nonnull(r->serial);
		ck_assert_ptr_nonnull(r->issuer);
		ck_assert_msg(strstr(r->issuer, "CN=Test BSrE Issuing CA") != NULL,
		    "%s: issuer %s", c->name, r->issuer);
	}
}

START_TEST(test_case)
{
	const struct vcase *c = &cases[_i];
	struct verify_result r;
	char *dir, *path, *msg, *nowtxt;
	time_t now;
	size_t n, nn, threshold;
	int rc, mode;

	dir = xasprintf("%s/case%02d", tmpdir, _i);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	if (!tl_script(dir, pkidir, c->make)) {
		printf("SKIP: verify %s: a tool is missing\n", c->name);
		free(dir);
		return;
	}
	now = time(NULL);	/* after the certificates the snippet issued */
	path = xasprintf("%s/now.txt", dir);
	if ((nowtxt = tl_slurp(path, &nn)) != NULL)
		now = (time_t)strtoll(nowtxt, NULL, 10);
	free(nowtxt);
	free(path);
	path = xasprintf("%s/m.eml", dir);
	msg = tl_slurp(path, &n);
	ck_assert_ptr_nonnull(msg);
	/* in memory, spooled to a file (the fs stream and mmap path), glue style */
	for (mode = 0; mode < 3; mode++) {
		threshold = mode == 0 ? 1 << 20 : mode == 1 ? 64 : GLUE_STYLE;
		rc = verify_mem(msg, n, threshold, c->from, now, &r);
		ck_assert_int_eq(rc, r.result == AR_TEMPERROR ? -1 : 0);
		check_result(c, &r);
		ck_assert_int_eq(ERR_peek_error(), 0);
		verify_result_free(&r);
	}
	free(msg);
	free(path);
	free(dir);
}
END_TEST

/*
 * CRLs carried in the message (RFC 8550: receivers MUST recognize them). The
 * openssl command cannot attach one, so these are signed here with
 * OpenSSL's CMS API (CMS_add1_crl). A carried CRL may add a revocation and
 * must never hide one: of an issuer's valid CRLs the newest decides, so an
 * older CRL from before the revocation, or a forged one, cannot make the
 * revoked certificate of the one who attaches it pass.
 */
struct crlcase {
	const char *name;
	const char *signer;	/* staff address */
	const char *make;	/* writes x.crl (mkcrl.py) */
	enum ar_result want;
	const char *comment;
	bool expired_dir;	/* crl_dir is pki/crl-expired */
};

#define DAVE "dave@tanjungpinangkota.go.id"
#define MKCRL "/usr/bin/python3 ../mkcrl.py $P/bsre.pem "

static const struct crlcase crlcases[] = {
	{ "a newer CRL in the message that revokes nobody", ALICE,
	  MKCRL "$P/bsre.key 60 864000 > x.crl", AR_PASS, "signature valid", false },
	{ "a newer CRL in the message revokes the signer", ALICE,
	  MKCRL "$P/bsre.key 60 864000 $S/$A.pem > x.crl", AR_FAIL,
	  "certificate revoked", false },
	{ "an older CRL in the message does not hide a revocation", DAVE,
	  MKCRL "$P/bsre.key 259200 864000 > x.crl", AR_FAIL,
	  "certificate revoked", false },
	{ "a forged newer CRL in the message does not hide a revocation", DAVE,
	  MKCRL "$P/outside/ca.key 60 864000 > x.crl", AR_FAIL, NULL, false },
	/* crl_dir's CRL has expired (load warns) and still revokes what it
	 * lists; a carried CRL that is within its dates scores higher with
	 * OpenSSL, but cannot take that revocation back */
	{ "an expired crl_dir CRL still revokes, whatever the message carries",
	  DAVE, MKCRL "$P/bsre.key 7776000 864000 > x.crl", AR_FAIL,
	  "certificate revoked", true },
	{ "with crl_dir's CRL expired, a carried CRL still revokes", ALICE,
	  MKCRL "$P/bsre.key 60 864000 $S/$A.pem > x.crl", AR_FAIL,
	  "certificate revoked", true },
};

static X509 *
read_cert(BIO *b)
{
	return PEM_read_bio_X509(b, NULL, NULL, NULL);
}

/* A multipart/signed message from ADDR (staff) carrying the CRL in CRLFILE. */
static char *
sign_with_crl(const char *addr, const char *crlfile, size_t *n)
{
	static const char content[] = "Content-Type: text/plain; "
	    "charset=us-ascii\r\n\r\nHalo Bapak/Ibu,\r\nIni surat resmi.\r\n";
	int fl = CMS_DETACHED | CMS_BINARY;
	char *cf = xasprintf("%s/pki/staff/%s.pem", tmpdir, addr),
	    *kf = xasprintf("%s/pki/staff/%s.key", tmpdir, addr),
	    *chf = xasprintf("%s/pki/chain.pem", tmpdir), *msg;
	BIO *b, *in, *out = BIO_new(BIO_s_mem()), *der = BIO_new(BIO_s_mem());
	size_t off;
	STACK_OF(X509) *chain = sk_X509_new_null();
	CMS_ContentInfo *cms;
	X509_CRL *crl;
	EVP_PKEY *k;
	X509 *x, *c;
	BUF_MEM *bm;

	ck_assert_ptr_nonnull((b = BIO_new_file(cf, "r")));
	ck_assert_ptr_nonnull((x = read_cert(b)));
	BIO_free(b);
	ck_assert_ptr_nonnull((b = BIO_new_file(kf, "r")));
	ck_assert_ptr_nonnull((k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)));
	BIO_free(b);
	ck_assert_ptr_nonnull((b = BIO_new_file(chf, "r")));
	while ((c = read_cert(b)) != NULL)
		sk_X509_push(chain, c);
	ERR_clear_error();	/* the end of the file */
	BIO_free(b);
	ck_assert_ptr_nonnull((b = BIO_new_file(crlfile, "r")));
	ck_assert_ptr_nonnull((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)));
	BIO_free(b);

	ck_assert_ptr_nonnull((cms = CMS_sign(x, k, chain, NULL,
	    fl | CMS_PARTIAL)));
	ck_assert_int_eq(CMS_add1_crl(cms, crl), 1);
	in = BIO_new_mem_buf(content, -1);
	ck_assert_int_eq(CMS_final(cms, in, NULL, fl), 1);
	BIO_free(in);
	/* The MIME by hand: SMIME_write_CMS() would sign a detached
	 * structure again. */
	ck_assert_int_eq(i2d_CMS_bio(der, cms), 1);
	BIO_get_mem_ptr(der, &bm);
	BIO_printf(out, "From: %s\r\nTo: kepala@tanjungpinangkota.go.id\r\n"
	    "Subject: Surat resmi\r\nMessage-ID: <crl@x>\r\nMIME-Version: 1.0"
	    "\r\nContent-Type: multipart/signed; protocol=\"application/"
	    "pkcs7-signature\"; micalg=sha-256; boundary=\"BB\"\r\n\r\n"
	    "--BB\r\n%s\r\n--BB\r\nContent-Type: application/pkcs7-signature;"
	    " name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n",
	    addr, content);
	for (off = 0; off < bm->length; off += 48) {
		unsigned char line[80];
		size_t len = bm->length - off < 48 ? bm->length - off : 48;

		EVP_EncodeBlock(line, (unsigned char *)bm->data + off, (int)len);
		BIO_printf(out, "%s\r\n", line);
	}
	BIO_printf(out, "--BB--\r\n");
	BIO_free(der);
	BIO_get_mem_ptr(out, &bm);
	msg = xstrndup(bm->data, bm->length);
	*n = bm->length;
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	X509_CRL_free(crl);
	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	EVP_PKEY_free(k);
	free(cf);
	free(kf);
	free(chf);
	return msg;
}

START_TEST(test_message_crl)
{
	const struct crlcase *c = &crlcases[_i];
	struct vcase vc = { c->name, NULL, c->signer, c->want, "2",
	    c->want == AR_PASS ? c->signer : NULL, c->comment };
	struct verify_result r;
	struct pki *p = c->expired_dir ? tl_load_pki(pkidir, "crl-expired") : pki;
	char *dir, *crl, *msg;
	size_t n;

	ck_assert_ptr_nonnull(p);
	dir = xasprintf("%s/crl%02d", tmpdir, _i);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert(tl_script(dir, pkidir, c->make));
	crl = xasprintf("%s/x.crl", dir);
	msg = sign_with_crl(c->signer, crl, &n);
	ck_assert_msg(strstr(msg, "multipart/signed") != NULL, "%s", msg);
	ck_assert_int_eq(verify_mem_pki(p, msg, n, 1 << 20, c->signer,
	    time(NULL), &r), 0);
	check_result(&vc, &r);
	verify_result_free(&r);
	ERR_clear_error();
	if (p != pki)
		pki_free(p);
	free(msg);
	free(crl);
	free(dir);
}
END_TEST

/* A 3 MB message spooled to a file, stored with LF line ends. */
START_TEST(test_large)
{
	struct verify_result r;
	char *dir = xasprintf("%s/large", tmpdir), *path, *msg;
	size_t n;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	tl_script(dir, pkidir, "{ printf 'Content-Type: text/plain\\r\\n\\r\\n'; "
	    "for i in $(seq 40000); do printf 'baris %06d: Ini surat resmi yang panjang sekali ya.\\r\\n' $i; done; } > big.txt; "
	    "{ hdr $A; openssl cms -sign -binary -in big.txt -signer $S/$A.pem -inkey $S/$A.key -certfile $P/chain.pem; } > m.eml; "
	    "sed -i 's/\\r$//' m.eml");
	path = xasprintf("%s/m.eml", dir);
	msg = tl_slurp(path, &n);
	ck_assert_uint_gt(n, 2000000);
	ck_assert_int_eq(verify_mem(msg, n, 65536, ALICE, time(NULL), &r), 0);
	ck_assert_msg(r.result == AR_PASS, "large: %s (%s)",
	    ar_result_name(r.result), r.comment);
	verify_result_free(&r);
	free(msg);
	free(path);
	free(dir);
}
END_TEST

/* Random damage to a valid message: never a crash, never a false pass. */
START_TEST(test_mutations)
{
	struct verify_result r;
	char *dir = xasprintf("%s/mut", tmpdir), *path, *msg, *m;
	size_t n, k, pos, body, len;
	int i, j;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	tl_script(dir, pkidir, "msg $A staff $A; crlf m.eml");
	path = xasprintf("%s/m.eml", dir);
	msg = tl_slurp(path, &n);
	body = (size_t)(strstr(msg, "Content-Type: text/plain") - msg);
	len = (size_t)(strstr(msg, "resmi.\r\n") + 8 - msg) - body;
	srandom(7281);
	for (i = 0; i < 400; i++) {
		m = xstrndup(msg, n);
		k = 1 + (size_t)random() % 8;
		for (j = 0; j < (int)k; j++) {
			pos = (size_t)random() % n;
			m[pos] = (char)(random() % 256);
		}
		/* a truncation now and then */
		verify_mem(m, i % 5 == 0 ? (size_t)random() % n : n, i % 2 ? 64 : 1 << 20,
		    ALICE, time(NULL), &r);
		if (r.result == AR_PASS)	/* only if the damage missed the signed bytes */
			ck_assert_msg(memcmp(m + body, msg + body, len) == 0,
			    "mutation %d passed", i);
		ck_assert_int_eq(ERR_peek_error(), 0);
		verify_result_free(&r);
		free(m);
	}
	free(msg);
	free(path);
	free(dir);
}
END_TEST

/* Several threads share one pki, as libmilter's workers do. */
struct thr {
	const char *msg;
	size_t n;
	const char *from;
	enum ar_result want;
	int bad;
};

static void *
thr_run(void *arg)
{
	struct thr *t = arg;
	struct verify_result r;
	int i;

	for (i = 0; i < 40; i++) {
		verify_mem(t->msg, t->n, i % 2 ? 64 : 1 << 20, t->from,
		    time(NULL), &r);
		if (r.result != t->want || ERR_peek_error() != 0)
			t->bad++;
		verify_result_free(&r);
	}
	return NULL;
}

START_TEST(test_threads)
{
	char *dir = xasprintf("%s/thr", tmpdir), *p1, *p2, *m1, *m2;
	struct thr t[6];
	pthread_t id[6];
	size_t n1, n2;
	int i;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	tl_script(dir, pkidir, "msg $A staff $A > /dev/null; mv m.eml good.eml; "
	    "msg $A staff $A; sed -i 's/resmi/palsu/' m.eml; mv m.eml bad.eml");
	p1 = xasprintf("%s/good.eml", dir);
	p2 = xasprintf("%s/bad.eml", dir);
	m1 = tl_slurp(p1, &n1);
	m2 = tl_slurp(p2, &n2);
	for (i = 0; i < 6; i++) {
		t[i] = (struct thr){ i % 2 ? m2 : m1, i % 2 ? n2 : n1,
		    i % 3 == 2 ? BOB : ALICE,
		    i % 2 ? AR_FAIL : i % 3 == 2 ? AR_POLICY : AR_PASS, 0 };
		ck_assert_int_eq(pthread_create(&id[i], NULL, thr_run, &t[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(id[i], NULL);
		ck_assert_msg(t[i].bad == 0, "thread %d: %d wrong results", i,
		    t[i].bad);
	}
	free(m1);
	free(m2);
	free(p1);
	free(p2);
	free(dir);
}
END_TEST

/* No pki (trust anchors not loaded): temperror for signed mail, -1. */
START_TEST(test_no_pki)
{
	struct verify_result r;
	struct msgbuf *mb = msgbuf_new(1024, NULL);
	const char *b = "--BB\r\nContent-Type: text/plain\r\n\r\nx\r\n--BB\r\n"
	    "Content-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--BB--\r\n";

	msgbuf_append(mb, b, strlen(b));
	ck_assert_int_eq(smime_verify(NULL, "Content-Type: multipart/signed; "
	    "protocol=\"application/pkcs7-signature\"; boundary=BB\r\n", mb,
	    ALICE, time(NULL), &r), -1);
	ck_assert_int_eq(r.result, AR_TEMPERROR);
	verify_result_free(&r);
	verify_result_free(&r);	/* idempotent */
	verify_result_free(NULL);
	msgbuf_free(mb);
}
END_TEST

static int
setup_pki(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	pkidir = xasprintf("%s/pki", tmpdir);
	if (tl_gen_pki(pkidir, "trust.pem") != 0)
		return -1;
	tl_write(tmpdir, "lib.sh", shlib);
	tl_write(tmpdir, "pysign.py", pysign);
	tl_write(tmpdir, "manycerts.py", manycerts);
	tl_write(tmpdir, "mkcrl.py", mkcrl);
	pki = tl_load_pki(pkidir, "crl");
	/* the time rule's cases verify two years ahead, when crl/'s CRLs
	 * are long out of date: the stale-CRL rule is test_crl's and
	 * t_crl's, not these cases' */
	if (pki != NULL)
		pki->crl_grace = 5L * 365 * 86400;
	return pki != NULL ? 0 : -1;
}

int
main(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("core");
	int rc;

	if (setup_pki() != 0) {
		fprintf(stderr, "test_verify: cannot build the test PKI\n");
		return EXIT_FAILURE;
	}
	g_mime_init();
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_case, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, test_message_crl, 0,
	    (int)(sizeof(crlcases) / sizeof(crlcases[0])));
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_no_pki);
	suite_add_tcase(s, tc);
	rc = tl_run(s);
	pki_free(pki);
	g_mime_shutdown();
	tl_rmtree(tmpdir);
	free(pkidir);
	return rc;
}
