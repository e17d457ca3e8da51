-- Outbound: bob authenticated sending as alice is refused (550 5.7.1);
-- several From addresses with a login are refused; alice as alice is signed.
dofile(dir .. "/common.lua")
local conn = open("client.example", "192.0.2.20")
mt.helo(conn, "client.example")
mt.macro(conn, SMFIC_MAIL, "i", "L1", "{tls_version}", "TLSv1.3",
    "{auth_authen}", "bob@tanjungpinangkota.go.id", "{auth_type}", "PLAIN")
check(mt.mailfrom(conn, "<alice@tanjungpinangkota.go.id>") == nil, "mailfrom")
check(mt.rcptto(conn, "<x@example.org>") == nil, "rcptto")
send_headers(conn, { { "From", "alice@tanjungpinangkota.go.id" }, { "Subject", "x" } })
check(mt.bodystring(conn, "Hi\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "bob as alice refused")
mt.disconnect(conn)

conn = open("client.example", "192.0.2.20")
mt.helo(conn, "client.example")
mt.macro(conn, SMFIC_MAIL, "i", "L2", "{tls_version}", "TLSv1.3",
    "{auth_authen}", "alice@tanjungpinangkota.go.id")
check(mt.mailfrom(conn, "<alice@tanjungpinangkota.go.id>") == nil, "mailfrom")
check(mt.rcptto(conn, "<x@example.org>") == nil, "rcptto")
send_headers(conn, { { "From", "alice@tanjungpinangkota.go.id, bob@tanjungpinangkota.go.id" } })
check(mt.bodystring(conn, "Hi\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "two From addresses refused")
mt.disconnect(conn)

conn = open("client.example", "192.0.2.20")
mt.helo(conn, "client.example")
mt.macro(conn, SMFIC_MAIL, "i", "L3", "{tls_version}", "TLSv1.3",
    "{auth_authen}", "ALICE@tanjungpinangkota.go.id")
check(mt.mailfrom(conn, "<alice@tanjungpinangkota.go.id>") == nil, "mailfrom")
check(mt.rcptto(conn, "<x@example.org>") == nil, "rcptto")
send_headers(conn, { { "From", "Alice <alice@tanjungpinangkota.go.id>" },
    { "Content-Type", "text/plain; charset=us-ascii" } })
check(mt.bodystring(conn, "Hello, world.\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_ACCEPT or mt.getreply(conn) == SMFIR_CONTINUE, "alice signed")
check(mt.eom_check(conn, MT_BODYCHANGE), "body replaced by the signed one")
check(mt.eom_check(conn, MT_HDRDELETE, "Content-Type"), "old Content-Type removed")
check(mt.eom_check(conn, MT_HDRADD, "Content-Type"), "multipart/signed Content-Type added")
-- (mt.getheader() overflows a buffer in miltertest on long folded values,
-- so the header's value is checked end to end instead.)
mt.disconnect(conn)
