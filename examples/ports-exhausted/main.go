// Ports-exhausted proves where "cannot assign requested address" comes
// from: a client that opens short connections to one server and
// closes them first keeps each one's local port in TIME_WAIT for 60 s,
// and once every port of net.ipv4.ip_local_port_range holds one,
// connect(2) fails with EADDRNOTAVAIL, without sending anything. The
// range is 4 ports here, in a network namespace of the program's own,
// so that 4 connections fill it. The same ports still connect to
// another server: what is used up is the pairs of a local port and a
// destination, not the ports.
package main

import (
	"errors"
	"net"
	"syscall"
	"time"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	h := edge.NewHost("host")
	defer h.Close()
	h.Do(func() {
		s := edge.NewQuietScene()
		defer s.Close()
		// The listeners take their ports from the default range,
		// 32768-60999, before it is narrowed to ports above it.
		ln := s.Listen("server")
		defer ln.Close()
		ln2 := s.Listen("server2")
		defer ln2.Close()
		server := ln.Addr().(*net.TCPAddr)

		//tcpedges:show
		h.Sysctl("net.ipv4.ip_local_port_range", "61000 61003")
		// 0: never reuse a port in TIME_WAIT for a new connection, as
		// between two hosts by default (2 reuses on loopback only).
		h.Sysctl("net.ipv4.tcp_tw_reuse", "0")
		// Often advised against TIME_WAIT: it sets how long an orphan
		// waits in FIN_WAIT2 (chapter 4), not TIME_WAIT.
		h.Sysctl("net.ipv4.tcp_fin_timeout", "1")
		edge.Println("ip_local_port_range 61000 61003 (4 ports), tcp_tw_reuse 0, tcp_fin_timeout 1")
		var last *edge.End
		for i := 1; i <= 4; i++ {
			last = openClose(s, ln, i)
		}
		edge.Printf("sock_diag, connections to server: %s\n", edge.StatesTo(server))
		edge.Printf("  the last one's timer: %s\n", last.TimerWithin(10*time.Second))

		opens, segs := h.Counter("TcpActiveOpens"), h.Counter("TcpOutSegs")
		_, err := net.Dial("tcp", server.String())
		notAvail("client5", s, err)
		edge.Printf("client5: net.Dial(server): err %s\n", s.Describe(err))
		edge.Printf("  Tcp.ActiveOpens +%d, Tcp.OutSegs +%d: nothing was sent\n",
			h.Counter("TcpActiveOpens")-opens, h.Counter("TcpOutSegs")-segs)
		//tcpedges:end
		if err == nil {
			edge.Fatalf("client5: net.Dial succeeded with every local port in TIME_WAIT: the story needs EADDRNOTAVAIL")
		}

		// The same four ports, to another destination.
		//tcpedges:show
		c := s.Dial("client6", ln2.Addr())
		defer c.Close()
		inTimeWait := edge.LocalPorts(edge.ConnsTo(server))[c.LocalAddr().(*net.TCPAddr).Port]
		edge.Printf("client6: net.Dial(server2): connected, from a port in TIME_WAIT with server: %v\n", inTimeWait)
		//tcpedges:end
	})
}

// openClose connects to ln as client<i>, closes first, lets the
// server close in turn, and waits for the client's TIME_WAIT.
func openClose(s *edge.Scene, ln *net.TCPListener, i int) *edge.End {
	role := "client" + string(rune('0'+i))
	c := s.Dial(role, ln.Addr())
	srv := s.Accept(ln, "server-of-"+role)
	c.Close()
	_, err := srv.Read(make([]byte, 1)) // io.EOF: the client's FIN
	if err == nil {
		edge.Fatalf("%s: the server read data, not the client's FIN", role)
	}
	srv.Close()
	c.WaitState("TIME_WAIT")
	edge.Printf("%s: net.Dial(server), Close() first: %s\n", role, c.State())
	return c
}

// notAvail ends the program unless err is EADDRNOTAVAIL, the ports run
// out: any other outcome (too many open files, say) tells another
// story.
func notAvail(step string, s *edge.Scene, err error) {
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		edge.Fatalf("%s: net.Dial(server): %s, where the story needs EADDRNOTAVAIL", step, s.Describe(err))
	}
}
