-- Forged Authentication-Results with our authserv-id are removed (any case,
-- any count, folded, comment first); a foreign one stays; ours is prepended.
dofile(dir .. "/common.lua")
local conn = open("mx.example.org", "192.0.2.10")
mt.macro(conn, SMFIC_MAIL, "i", "F1", "{tls_version}", "TLSv1.3")
check(mt.mailfrom(conn, "<sari@kepriprov.go.id>") == nil, "mailfrom")
check(mt.rcptto(conn, "<alice@tanjungpinangkota.go.id>") == nil, "rcptto")
send_headers(conn, {
	{ "Authentication-Results", "mail.tanjungpinangkota.go.id; smime=pass" },
	{ "From", "Sari <sari@kepriprov.go.id>" },
	{ "Authentication-Results", "other.example; spf=pass smtp.mailfrom=x" },
	{ "Authentication-Results", "MAIL.TanjungPinangKota.GO.ID;\n\tsmime=pass" },
	{ "Authentication-Results", "(forged) mail.tanjungpinangkota.go.id 1; smime=pass" },
	{ "Subject", "hello" },
})
check(mt.bodystring(conn, "Hello.\r\n") == nil, "body")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_ACCEPT or mt.getreply(conn) == SMFIR_CONTINUE, "accepted")
check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"), "forged results deleted")
mt.disconnect(conn)
