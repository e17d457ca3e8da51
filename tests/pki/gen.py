#!/usr/bin/python3
"""Generate segel's test PKI (shaped like Indonesia's BSrE) into OUTDIR.

Called by tests/pki/gen, which then exports the PKCS#12 files with the
openssl command.  Writes PEM keys, certificates and CRLs, plus
OUTDIR/.p12-list: one "ADDRESS CHAIN [legacy]" line per PKCS#12 to export.
See tests/pki/README.md for the layout.
"""

import datetime
import os
import secrets
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DOMAIN = "tanjungpinangkota.go.id"
CITY_O = "Pemerintah Kota Tanjungpinang"
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
YEAR = datetime.timedelta(days=365)

# local part, CN, OU, issuer, kind
STAFF = [
    ("alice", "Alice Wulandari", "Dinas Komunikasi dan Informatika", "bsre", "valid"),
    ("bob", "Bob Santoso", "Bagian Umum", "bsre", "valid"),
    ("app", "Aplikasi SIMPEG", "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia", "bsre", "valid"),
    ("carol", "Carol Pratiwi", "Bagian Hukum", "bsre", "expired"),
    ("dave", "Dave Kurniawan", "Dinas Pendidikan", "bsre", "revoked"),
    ("frank", "Frank Hidayat", "Dinas Kesehatan", "bsre", "future"),
    ("legacy", "Legacy Sistem Lama", "Bagian Organisasi", "bsre", "legacy"),
    ("mallory", "Mallory Palsu", "Dinas Komunikasi dan Informatika", "outside", "untrusted"),
    ("ec", "Eka Citra", "Dinas Komunikasi dan Informatika", "bsre", "ec"),
]


def name(*pairs):
    return x509.Name([x509.NameAttribute(oid, val) for oid, val in pairs])


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def write_key(path, key):
    write(path, key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()), 0o600)


def write_cert(path, cert):
    write(path, cert.public_bytes(serialization.Encoding.PEM))


def serial():
    return secrets.randbits(63) | (1 << 62)


def ski(pub):
    return x509.SubjectKeyIdentifier.from_public_key(pub)


def aki(issuer_cert):
    ext = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ext.value)


def ca_cert(subject, key, issuer_cert=None, issuer_key=None, pathlen=None):
    """A CA certificate; self-signed when issuer_cert is None."""
    issuer_name = issuer_cert.subject if issuer_cert else subject
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(serial())
         .not_valid_before(NOW - 5 * YEAR).not_valid_after(NOW + 20 * YEAR)
         .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
         .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                        critical=True)
         .add_extension(ski(key.public_key()), critical=False))
    if issuer_cert is not None:
        b = b.add_extension(aki(issuer_cert), critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


def ee_cert(subject, email, key, issuer_cert, issuer_key, not_before, not_after):
    """An end-entity S/MIME signing certificate."""
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer_cert.subject)
            .public_key(key.public_key()).serial_number(serial())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
            .add_extension(ski(key.public_key()), critical=False)
            .add_extension(aki(issuer_cert), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def tsa_cert(subject, key, issuer_cert, issuer_key):
    """An RFC 3161 TSA certificate: extendedKeyUsage timeStamping alone,
    critical (RFC 3161 2.3; OpenSSL's timestamp purpose insists on it)."""
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer_cert.subject)
            .public_key(key.public_key()).serial_number(serial())
            .not_valid_before(NOW - DAY).not_valid_after(NOW + 5 * YEAR)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True)
            .add_extension(ski(key.public_key()), critical=False)
            .add_extension(aki(issuer_cert), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def tsa_pki(out, outside, out_key):
    """tsa/: a TSA root and its timestamping certificate (audit.tsa_trust
    is tsa/ca.pem); outside/tsa.*: a TSA under the untrusted outside CA."""
    p = lambda *a: os.path.join(out, *a)
    os.makedirs(p("tsa"), exist_ok=True)
    ca_key = rsa_key()
    ca = ca_cert(name((NameOID.COUNTRY_NAME, "ID"), (NameOID.ORGANIZATION_NAME, "Segel Test PKI"),
                      (NameOID.COMMON_NAME, "Test TSA Root")), ca_key)
    write_key(p("tsa", "ca.key"), ca_key)
    write_cert(p("tsa", "ca.pem"), ca)
    for path, issuer, ikey, cn in (
            (("tsa", "tsa"), ca, ca_key, "Test Time Stamping Authority"),
            (("outside", "tsa"), outside, out_key, "Outside TSA")):
        key = rsa_key()
        subj = name((NameOID.COUNTRY_NAME, "ID"), (NameOID.ORGANIZATION_NAME, "Segel Test PKI"),
                    (NameOID.COMMON_NAME, cn))
        write_key(p(*path[:-1], path[-1] + ".key"), key)
        write_cert(p(*path[:-1], path[-1] + ".pem"), tsa_cert(subj, key, issuer, ikey))


def crl(issuer_cert, issuer_key, revoked, last_update, next_update, number):
    b = (x509.CertificateRevocationListBuilder()
         .issuer_name(issuer_cert.subject)
         .last_update(last_update).next_update(next_update)
         .add_extension(x509.CRLNumber(number), critical=False)
         .add_extension(aki(issuer_cert), critical=False))
    for s, when in revoked:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(s).revocation_date(when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build())
    return b.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def staff_validity(kind):
    if kind == "expired":
        return NOW - 2 * YEAR, NOW - 30 * DAY
    if kind == "future":
        return NOW + YEAR, NOW + 3 * YEAR
    return NOW - DAY, NOW + 2 * YEAR


def main(out):
    for d in ("", "crl", "crl-expired", "certs", "staff", "outside", "partner"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    os.chmod(os.path.join(out, "certs"), 0o700)
    p = lambda *a: os.path.join(out, *a)

    root_key = rsa_key()
    root = ca_cert(name((NameOID.COUNTRY_NAME, "ID"), (NameOID.ORGANIZATION_NAME, "Segel Test PKI"),
                        (NameOID.COMMON_NAME, "Test Root CA Indonesia")), root_key)
    bsre_key = rsa_key()
    bsre = ca_cert(name((NameOID.COUNTRY_NAME, "ID"),
                        (NameOID.ORGANIZATION_NAME, "Balai Besar Sertifikasi Elektronik (TEST)"),
                        (NameOID.COMMON_NAME, "Test BSrE Issuing CA")),
                   bsre_key, root, root_key, pathlen=0)
    out_key = rsa_key()
    outside = ca_cert(name((NameOID.COUNTRY_NAME, "US"), (NameOID.ORGANIZATION_NAME, "Elsewhere"),
                           (NameOID.COMMON_NAME, "Outside Test CA")), out_key)
    write_key(p("root.key"), root_key)
    write_cert(p("root.pem"), root)
    write_key(p("bsre.key"), bsre_key)
    write_cert(p("bsre.pem"), bsre)
    write_cert(p("trust.pem"), root)
    write_cert(p("chain.pem"), bsre)
    write_key(p("outside", "ca.key"), out_key)
    write_cert(p("outside", "ca.pem"), outside)

    issuers = {"bsre": (bsre, bsre_key, "chain.pem"),
               "outside": (outside, out_key, "outside/ca.pem")}
    p12_list = []
    revoked = []
    for local, cn, ou, issuer, kind in STAFF:
        addr = "%s@%s" % (local, DOMAIN)
        key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa_key()
        icert, ikey, chain = issuers[issuer]
        nb, na = staff_validity(kind)
        subj = name((NameOID.COUNTRY_NAME, "ID"), (NameOID.ORGANIZATION_NAME, CITY_O),
                    (NameOID.ORGANIZATIONAL_UNIT_NAME, ou), (NameOID.COMMON_NAME, cn),
                    (NameOID.EMAIL_ADDRESS, addr))
        cert = ee_cert(subj, addr, key, icert, ikey, nb, na)
        write_key(p("staff", addr + ".key"), key)
        write_cert(p("staff", addr + ".pem"), cert)
        if kind == "revoked":
            revoked.append((cert.serial_number, NOW - DAY))
        p12_list.append("%s %s%s" % (addr, chain, " legacy" if kind == "legacy" else ""))

    for who, email, subj_o, country in (("signer", "outsider@example.org", "Elsewhere", "US"),):
        key = rsa_key()
        subj = name((NameOID.COUNTRY_NAME, country), (NameOID.ORGANIZATION_NAME, subj_o),
                    (NameOID.COMMON_NAME, "Outsider"), (NameOID.EMAIL_ADDRESS, email))
        write_key(p("outside", who + ".key"), key)
        write_cert(p("outside", who + ".pem"),
                   ee_cert(subj, email, key, outside, out_key, NOW - DAY, NOW + 2 * YEAR))

    key = rsa_key()
    subj = name((NameOID.COUNTRY_NAME, "ID"),
                (NameOID.ORGANIZATION_NAME, "Pemerintah Provinsi Kepulauan Riau"),
                (NameOID.COMMON_NAME, "Sari"), (NameOID.EMAIL_ADDRESS, "sari@kepriprov.go.id"))
    write_key(p("partner", "sari.key"), key)
    write_cert(p("partner", "sari.pem"),
               ee_cert(subj, "sari@kepriprov.go.id", key, bsre, bsre_key, NOW - DAY, NOW + 2 * YEAR))

    write(p("crl", "bsre.crl.pem"), crl(bsre, bsre_key, revoked, NOW - DAY, NOW + 30 * DAY, 2))
    write(p("crl", "root.crl.pem"), crl(root, root_key, [], NOW - DAY, NOW + 30 * DAY, 1))
    write(p("crl-expired", "bsre.crl.pem"),
          crl(bsre, bsre_key, revoked, NOW - 60 * DAY, NOW - 30 * DAY, 1))
    write(p("crl-expired", "root.crl.pem"), crl(root, root_key, [], NOW - DAY, NOW + 30 * DAY, 1))
    tsa_pki(out, outside, out_key)
    write(p(".p12-list"), ("\n".join(p12_list) + "\n").encode())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gen.py OUTDIR")
    main(sys.argv[1])
