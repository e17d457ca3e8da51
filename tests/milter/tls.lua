-- TLS enforcement at RCPT TO and MAIL FROM (530 5.7.0), and what it leaves alone.
dofile(dir .. "/common.lua")

-- segel negotiates no HELO event (milter/glue.h GLUE_PROTO), and Postfix
-- waits for no reply to connect, header and body events: miltertest
-- refuses to send a HELO that was negotiated away.
local conn = open("mx.example.org", "192.0.2.10")
local ok, err = pcall(mt.helo, conn, "client.example")
check(not ok and string.find(tostring(err), "SMFIP_NOHELO", 1, true),
    "HELO negotiated away: " .. tostring(err))
mt.disconnect(conn)

-- Plaintext, outside sender, recipient in the domain: refused at RCPT.
conn = open("mx.example.org", "192.0.2.10")
mt.macro(conn, SMFIC_MAIL, "i", "T1")
check(mt.mailfrom(conn, "<x@example.org>") == nil, "mailfrom")
check(mt.getreply(conn) == SMFIR_CONTINUE, "outside sender accepted")
check(mt.rcptto(conn, "<alice@tanjungpinangkota.go.id>") == nil, "rcptto")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "plaintext rcpt in domain refused")
-- Between two outside parties: unaffected.
check(mt.rcptto(conn, "<bob@example.net>") == nil, "rcptto 2")
check(mt.getreply(conn) == SMFIR_CONTINUE, "outside rcpt unaffected")
-- Look-alike domains are not the domain.
check(mt.rcptto(conn, "<a@tanjungpinangkota.go.id.evil.com>") == nil, "rcptto 3")
check(mt.getreply(conn) == SMFIR_CONTINUE, "look-alike unaffected")
check(mt.rcptto(conn, "<a@xtanjungpinangkota.go.id>") == nil, "rcptto 4")
check(mt.getreply(conn) == SMFIR_CONTINUE, "x-prefixed look-alike unaffected")
mt.disconnect(conn)

-- Sender in the domain over plaintext: refused at MAIL FROM.
conn = open("app.example", "192.0.2.11")
check(mt.mailfrom(conn, "<alice@TanjungPinangKota.go.id>") == nil, "mailfrom")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "plaintext sender in domain refused")
mt.disconnect(conn)

-- The same over TLS 1.3: accepted.
conn = open("mx.example.org", "192.0.2.10")
mt.macro(conn, SMFIC_MAIL, "i", "T2", "{tls_version}", "TLSv1.3",
    "{cipher}", "TLS_AES_256_GCM_SHA384", "{cipher_bits}", "256")
check(mt.mailfrom(conn, "<x@example.org>") == nil, "mailfrom tls")
check(mt.rcptto(conn, "<alice@tanjungpinangkota.go.id>") == nil, "rcptto tls")
check(mt.getreply(conn) == SMFIR_CONTINUE, "TLS 1.3 rcpt accepted")
mt.disconnect(conn)

-- TLS 1.0 is older than min_version: refused.
conn = open("mx.example.org", "192.0.2.10")
mt.macro(conn, SMFIC_MAIL, "i", "T3", "{tls_version}", "TLSv1")
check(mt.mailfrom(conn, "<x@example.org>") == nil, "mailfrom tls1")
check(mt.rcptto(conn, "<alice@tanjungpinangkota.go.id>") == nil, "rcptto tls1")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "TLS 1.0 refused")
mt.disconnect(conn)

-- From header in the domain over plaintext (envelope outside): refused at EOH.
conn = open("mx.example.org", "192.0.2.10")
mt.macro(conn, SMFIC_MAIL, "i", "T4")
check(mt.mailfrom(conn, "<bounce@example.org>") == nil, "mailfrom")
check(mt.rcptto(conn, "<bob@example.net>") == nil, "rcptto")
check(mt.header(conn, "From", "Alice <alice@tanjungpinangkota.go.id>") == nil, "from")
check(mt.eoh(conn) == nil, "eoh")
check(mt.getreply(conn) == SMFIR_REPLYCODE, "From in domain over plaintext refused")
mt.disconnect(conn)
