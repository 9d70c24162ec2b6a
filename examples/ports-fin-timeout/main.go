// Ports-fin-timeout proves what net.ipv4.tcp_fin_timeout frees, and
// what it does not, for a client out of local ports: set to 1 s, it
// ends an orphan in FIN_WAIT2 after 1 s, and frees its port; a
// TIME_WAIT older than that still holds its port, with a 60 s timer.
// The range is 4 ports, in a network namespace of the program's own:
// three connections end in TIME_WAIT, and one in FIN_WAIT2, its server
// gone without a word (TCP_REPAIR, then close: nothing is sent).
package main

import (
	"errors"
	"net"
	"syscall"
	"time"

	"tcpedges/internal/edge"
)

//tcpedges:wait 1s tcp_fin_timeout=1 in the host: the orphan in FIN_WAIT2 lasts 1 s
func main() {
	edge.ParseFlags()
	h := edge.NewHost("host")
	defer h.Close()
	h.Do(func() {
		s := edge.NewQuietScene()
		defer s.Close()
		ln := s.Listen("server")
		defer ln.Close()
		server := ln.Addr().(*net.TCPAddr)

		h.Sysctl("net.ipv4.ip_local_port_range", "61000 61003")
		h.Sysctl("net.ipv4.tcp_tw_reuse", "0")
		//tcpedges:show
		h.Sysctl("net.ipv4.tcp_fin_timeout", "1")
		//tcpedges:end
		edge.Println("ip_local_port_range 61000 61003 (4 ports), tcp_tw_reuse 0, tcp_fin_timeout 1")
		for _, role := range []string{"client1", "client2", "client3"} {
			c, srv := connect(s, ln, role)
			c.Close()
			if _, err := srv.Read(make([]byte, 1)); err == nil {
				edge.Fatalf("%s: the server read data, not the client's FIN", role)
			}
			srv.Close()
			c.WaitState("TIME_WAIT")
			edge.Printf("%s: net.Dial(server), Close() first, the server closes: %s\n", role, c.State())
		}
		//tcpedges:show
		c4, srv := connect(s, ln, "client4")
		c4.Close()
		c4.WaitState("FIN_WAIT2")
		// The server's socket vanishes: no FIN will ever come.
		edge.Forget(srv.FD)
		srv.Close()
		edge.Printf("client4: net.Dial(server), Close() first, the server vanishes: %s\n", c4.State())
		c5 := dial(s, "client5", server, nil)
		if c5 != nil {
			// The 1 s of the orphan ran out before the dial.
			edge.Fatalf("client5 connected: the program was starved of CPU for more than tcp_fin_timeout (1 s) " +
				"between client4's close and this dial")
		}

		edge.Gap(time.Second)
		c4.WaitState("CLOSED")
		edge.Printf("client4: %s (sock_diag: the orphan in FIN_WAIT2 expired)\n", c4.State())
		older := true
		for _, sk := range edge.ConnsTo(server) {
			older = older && edge.StateName(sk.State) == "TIME_WAIT" && sk.Expires < 59000
		}
		edge.Printf("sock_diag: %s, each with less than 59 s left: %v\n", edge.StatesTo(server), older)
		c := dial(s, "client6", server, c4)
		//tcpedges:end
		if c == nil {
			edge.Fatalf("client6: no port after client4's FIN_WAIT2 expired: the story needs one")
		}
		defer c.Close()
		//tcpedges:show
		dial(s, "client7", server, nil)
		//tcpedges:end
	})
}

// connect connects role to ln, and accepts the connection.
func connect(s *edge.Scene, ln *net.TCPListener, role string) (c, srv *edge.End) {
	c = s.Dial(role, ln.Addr())
	srv = s.Accept(ln, "server-of-"+role)
	return c, srv
}

// dial connects to server as role, and says whether it was from was's
// port.
func dial(s *edge.Scene, role string, server *net.TCPAddr, was *edge.End) net.Conn {
	c, err := net.Dial("tcp", server.String())
	if err != nil {
		notAvail(role, s, err)
		edge.Printf("%s: net.Dial(server): err %s\n", role, s.Describe(err))
		return nil
	}
	same := was != nil && c.LocalAddr().(*net.TCPAddr).Port == was.LocalAddr().(*net.TCPAddr).Port
	edge.Printf("%s: net.Dial(server): connected, from client4's port: %v\n", role, same)
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
