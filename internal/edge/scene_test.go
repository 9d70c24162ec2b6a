package edge

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

// A port that connect(2) picked for client may come back, from the
// kernel, for a later connection to another server: that connection is
// not client's, and is not shown as client's.
func TestRolesByConnection(t *testing.T) {
	port := netip.MustParseAddrPort("127.0.0.1:40000")
	server := netip.MustParseAddrPort("127.0.0.1:50000")
	server2 := netip.MustParseAddrPort("127.0.0.1:60000")
	s := &Scene{names: map[netip.AddrPort]string{}, conns: map[flow]string{}}
	s.Name(net.TCPAddrFromAddrPort(server), "server")
	s.Name(net.TCPAddrFromAddrPort(server2), "server2")
	s.NameConn(net.TCPAddrFromAddrPort(port), net.TCPAddrFromAddrPort(server), "client")
	for _, tc := range []struct {
		from, to netip.AddrPort
		src, dst string
	}{
		{port, server, "client", "server"},
		{server, port, "server", "client"},
		{port, server2, "", "server2"},
		{server2, port, "server2", ""},
	} {
		if src, dst := s.roles(tc.from, tc.to); src != tc.src || dst != tc.dst {
			t.Errorf("roles(%v, %v) = %q, %q; want %q, %q", tc.from, tc.to, src, dst, tc.src, tc.dst)
		}
	}
	err := &net.OpError{Op: "read", Net: "tcp", Source: net.TCPAddrFromAddrPort(port), Addr: net.TCPAddrFromAddrPort(server), Err: errors.New("boom")}
	if got, want := s.Describe(err), `"read tcp client->server: boom"`; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}
