-- Outbound: bob authenticated sending as alice is refused (550 5.7.1);
-- several From addresses with a login are refused; alice as alice is signed.
dofile(dir .. "/common.lua")
local conn = open("client.example", "192.0.2.20")
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
mt.macro(conn, SMFIC_MAIL, "i", "L2", "{tls_version}", "TLSv1.3",
    "{auth_authen}", "alice@tanjungpinangkota.go.id")
check(mt.mailfrom(conn, "<alice@tanjungpinangkota.go.id>") == nil, "mailfrom")
check(mt.rcptto(conn, "<x@example.org>") == nil, "rcptto")
send_headers(conn, { { "From", "alice@tanjungpinangkota.go.id, bob@tanjungpinangkota.go.id" } })
check(mt.bodystring(conn, "Hi\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "two From addresses refused")
mt.disconnect(conn)

-- erin has a login but no certificate: 550 with the reason (on_no_cert=reject).
-- (A signed reply body cannot be checked here: miltertest overflows a stack
-- buffer on large SMFIR_REPLBODY packets; signing is tested end to end.)
conn = open("client.example", "192.0.2.20")
mt.macro(conn, SMFIC_MAIL, "i", "L3", "{tls_version}", "TLSv1.3",
    "{auth_authen}", "ERIN@tanjungpinangkota.go.id")
check(mt.mailfrom(conn, "<erin@tanjungpinangkota.go.id>") == nil, "mailfrom")
check(mt.rcptto(conn, "<x@example.org>") == nil, "rcptto")
send_headers(conn, { { "From", "Erin <erin@tanjungpinangkota.go.id>" } })
check(mt.bodystring(conn, "Hello, world.\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "no certificate: refused")
check(not mt.eom_check(conn, MT_BODYCHANGE), "no body change when refused")
mt.disconnect(conn)
