-- common.lua - helpers for segel's miltertest scripts (loaded with dofile).
-- Globals from the runner: sock (the filter's socket), dir (this folder).
function check(cond, what)
	if not cond then error("FAILED: " .. what) end
end

function open(host, ip)
	local conn = mt.connect(sock, 20, 0.25)
	check(conn ~= nil, "connect to " .. sock)
	check(mt.conninfo(conn, host, ip) == nil, "conninfo")
	check(mt.getreply(conn) == SMFIR_CONTINUE, "conninfo accepted")
	return conn
end

function send_headers(conn, hdrs)
	for _, h in ipairs(hdrs) do
		check(mt.header(conn, h[1], h[2]) == nil, "header " .. h[1])
	end
	check(mt.eoh(conn) == nil, "eoh")
end
