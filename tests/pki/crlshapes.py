#!/usr/bin/python3
"""Build the CRL shapes of RFC 5280 on a test PKI made by tests/pki/gen.

usage: crlshapes.py PKIDIR [URL_BASE]

Writes PKIDIR/shapes/ (see tests/pki/README.md):
  trust.pem           root + the two CRL-signing certificates
  crlsign.pem/.key    CRL signer with the BSrE CA's own name, a key of its own
                      (keyUsage cRLSign), issued by the root
  indirect.pem/.key   "CN=Test Indirect CRL Issuer", cRLSign, issued by root
  ivan@DOMAIN.pem/.key/.p12/.pass
                      a staff certificate by BSrE whose CRL distribution
                      point names the indirect issuer as cRLIssuer
  crl-sepkey/         BSrE's CRL signed by crlsign.key, listing dave
  crl-indirect/       the indirect CRL listing ivan (certificateIssuer BSrE)
  crl-delta/          a base CRL of BSrE listing nobody (number 10) and a
                      delta CRL (number 11, base 10) listing dave
  crl-old/            BSrE's CRL from before dave's revocation (number 1)
  crl-new.pem         a newer CRL of BSrE listing dave (number 3), for a
                      message to carry
  crl-stale/          BSrE's CRL listing dave, nextUpdate 2 days ago
Each crl-* folder also holds the root's empty CRL, so it can serve as a
whole pki.crl_dir.  URL_BASE (default http://127.0.0.1:1) is where ivan's
distribution point says the indirect CRL is.
"""

import datetime
import os
import secrets
import shutil
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402  (the PKI's own helpers)

DAY, NOW = gen.DAY, gen.NOW


def load(pkidir, rel):
    with open(os.path.join(pkidir, rel), "rb") as f:
        data = f.read()
    if rel.endswith(".key"):
        return serialization.load_pem_private_key(data, None)
    return x509.load_pem_x509_certificate(data)


def crl_signer(subject, key, root, root_key):
    """An end-entity certificate that may sign CRLs only."""
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(root.subject)
            .public_key(key.public_key()).serial_number(gen.serial())
            .not_valid_before(NOW - DAY).not_valid_after(NOW + 5 * gen.YEAR)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, False, True,
                                         False, False), critical=True)
            .add_extension(gen.ski(key.public_key()), critical=False)
            .add_extension(gen.aki(root), critical=False)
            .sign(root_key, hashes.SHA256()))


def revoked_entry(serial_no, issuer_name=None):
    b = (x509.RevokedCertificateBuilder().serial_number(serial_no)
         .revocation_date(NOW - DAY)
         .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False))
    if issuer_name is not None:
        b = b.add_extension(x509.CertificateIssuer([x509.DirectoryName(issuer_name)]),
                            critical=True)
    return b.build()


def make_crl(issuer_name, signer_cert, signer_key, entries, number, last, nxt, extra=()):
    b = (x509.CertificateRevocationListBuilder()
         .issuer_name(issuer_name).last_update(last).next_update(nxt)
         .add_extension(x509.CRLNumber(number), critical=False)
         .add_extension(gen.aki(signer_cert), critical=False))
    for ext, crit in extra:
        b = b.add_extension(ext, critical=crit)
    for e in entries:
        b = b.add_revoked_certificate(e)
    return b.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def main(pkidir, url_base):
    out = os.path.join(pkidir, "shapes")
    p = lambda *a: os.path.join(out, *a)
    for d in ("", "crl-sepkey", "crl-indirect", "crl-delta", "crl-old", "crl-stale"):
        os.makedirs(p(d), exist_ok=True)
    root, root_key = load(pkidir, "root.pem"), load(pkidir, "root.key")
    bsre, bsre_key = load(pkidir, "bsre.pem"), load(pkidir, "bsre.key")
    dave = load(pkidir, "staff/dave@%s.pem" % gen.DOMAIN)

    sign_key = gen.rsa_key()
    signer = crl_signer(bsre.subject, sign_key, root, root_key)
    ind_key = gen.rsa_key()
    ind_name = gen.name((NameOID.COUNTRY_NAME, "ID"), (NameOID.ORGANIZATION_NAME, "Segel Test PKI"),
                        (NameOID.COMMON_NAME, "Test Indirect CRL Issuer"))
    indirect = crl_signer(ind_name, ind_key, root, root_key)
    gen.write_key(p("crlsign.key"), sign_key)
    gen.write_cert(p("crlsign.pem"), signer)
    gen.write_key(p("indirect.key"), ind_key)
    gen.write_cert(p("indirect.pem"), indirect)
    with open(p("trust.pem"), "wb") as f:
        for c in (root, signer, indirect):
            f.write(c.public_bytes(serialization.Encoding.PEM))

    # ivan: a staff certificate whose CRLs come from the indirect issuer
    addr = "ivan@" + gen.DOMAIN
    ikey = gen.rsa_key()
    subj = gen.name((NameOID.COUNTRY_NAME, "ID"), (NameOID.ORGANIZATION_NAME, gen.CITY_O),
                    (NameOID.ORGANIZATIONAL_UNIT_NAME, "Bagian Umum"),
                    (NameOID.COMMON_NAME, "Ivan Saputra"), (NameOID.EMAIL_ADDRESS, addr))
    dp = x509.DistributionPoint(full_name=[x509.UniformResourceIdentifier(url_base + "/indirect.crl")],
                                relative_name=None, reasons=None,
                                crl_issuer=[x509.DirectoryName(ind_name)])
    icert = (x509.CertificateBuilder()
             .subject_name(subj).issuer_name(bsre.subject)
             .public_key(ikey.public_key()).serial_number(gen.serial())
             .not_valid_before(NOW - DAY).not_valid_after(NOW + 2 * gen.YEAR)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                          False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                            critical=False)
             .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(addr)]), critical=False)
             .add_extension(gen.ski(ikey.public_key()), critical=False)
             .add_extension(gen.aki(bsre), critical=False)
             .add_extension(x509.CRLDistributionPoints([dp]), critical=False)
             .sign(bsre_key, hashes.SHA256()))
    gen.write_key(p(addr + ".key"), ikey)
    gen.write_cert(p(addr + ".pem"), icert)
    pw = secrets.token_hex(12)
    gen.write(p(addr + ".pass"), (pw + "\n").encode(), 0o600)
    gen.write(p(addr + ".p12"), pkcs12.serialize_key_and_certificates(
        addr.encode(), ikey, icert, [bsre],
        serialization.BestAvailableEncryption(pw.encode())), 0o600)

    root_crl = os.path.join(pkidir, "crl", "root.crl.pem")
    month = NOW + 30 * DAY
    gen.write(p("crl-sepkey", "bsre-sepkey.crl.pem"),
              make_crl(bsre.subject, signer, sign_key, [revoked_entry(dave.serial_number)], 5,
                       NOW - DAY, month))
    idp = x509.IssuingDistributionPoint(None, None, False, False, None, True, False)
    gen.write(p("crl-indirect", "indirect.crl.pem"),
              make_crl(ind_name, indirect, ind_key,
                       [revoked_entry(icert.serial_number, bsre.subject)], 7, NOW - DAY, month,
                       [(idp, True)]))
    gen.write(p("crl-delta", "bsre-base.crl.pem"),
              make_crl(bsre.subject, bsre, bsre_key, [], 10, NOW - 2 * DAY, month))
    gen.write(p("crl-delta", "bsre-delta.crl.pem"),
              make_crl(bsre.subject, bsre, bsre_key, [revoked_entry(dave.serial_number)], 11,
                       NOW - DAY, NOW + 2 * DAY, [(x509.DeltaCRLIndicator(10), True)]))
    gen.write(p("crl-old", "bsre.crl.pem"),
              make_crl(bsre.subject, bsre, bsre_key, [], 1, NOW - 3 * DAY, month))
    gen.write(p("crl-new.pem"),
              make_crl(bsre.subject, bsre, bsre_key, [revoked_entry(dave.serial_number)], 3,
                       NOW - datetime.timedelta(seconds=60), month))
    gen.write(p("crl-stale", "bsre.crl.pem"),
              make_crl(bsre.subject, bsre, bsre_key, [revoked_entry(dave.serial_number)], 4,
                       NOW - 32 * DAY, NOW - 2 * DAY))
    for d in ("crl-sepkey", "crl-indirect", "crl-delta", "crl-old", "crl-stale"):
        shutil.copy(root_crl, p(d, "root.crl.pem"))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: crlshapes.py PKIDIR [URL_BASE]")
    main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "http://127.0.0.1:1")
