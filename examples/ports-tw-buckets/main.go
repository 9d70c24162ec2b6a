// Ports-tw-buckets proves what net.ipv4.tcp_max_tw_buckets does when
// the kernel already holds that many TIME_WAIT sockets: a closing
// connection gets none, and the kernel counts it in TcpExt
// TCPTimeWaitOverflow. With the limit at 1, in a network namespace of
// the program's own, the first connection the client closes first
// keeps its TIME_WAIT; the second has none. Closed with close(), it is
// freed as soon as the server acknowledges its FIN (FIN_WAIT2 needs a
// timewait socket too), and the server's FIN then draws an RST. Closed
// with shutdown(SHUT_WR), it is freed when the server's FIN arrives,
// after its ACK.
package main

import (
	"net"

	"tcpedges/internal/edge"
)

//tcpedges:slow three connections in a namespace of its own, each closed and captured in full: 65 to 105 ms on this machine under load
func main() {
	edge.ParseFlags()
	h := edge.NewHost("host")
	defer h.Close()
	//tcpedges:show
	h.Sysctl("net.ipv4.tcp_max_tw_buckets", "1")
	edge.Println("net.ipv4.tcp_max_tw_buckets = 1")
	//tcpedges:end
	h.Do(func() {
		s := edge.NewScene()
		defer s.Close()
		ln := s.Listen("server")
		defer ln.Close()

		edge.Println("# client1: close() first")
		closeFirst(connect(s, ln, "client1"))

		edge.Println("# client2: close() first")
		c, srv := connect(s, ln, "client2")
		//tcpedges:show
		closeFirst(c, srv)
		//tcpedges:end

		edge.Println("# client3: shutdown(SHUT_WR) first, close() after the server's FIN")
		c, srv = connect(s, ln, "client3")
		defer c.Close()
		//tcpedges:show
		overflows := edge.TCPExtCounter("TCPTimeWaitOverflow")
		edge.Println("client3: shutdown(SHUT_WR)")
		edge.Check(c.CloseWrite(), "client3: shutdown")
		c.WaitState("FIN_WAIT2")
		s.PrintSegments()
		edge.Println("server: close()")
		srv.Close()
		c.WaitState("TIME_WAIT", "CLOSED")
		s.PrintSegments()
		edge.Printf("  client3 %s; TCPTimeWaitOverflow +%d\n", c.State(),
			edge.TCPExtCounter("TCPTimeWaitOverflow")-overflows)
		//tcpedges:end
	})
}

// connect connects role to ln, and accepts the connection.
func connect(s *edge.Scene, ln *net.TCPListener, role string) (c, srv *edge.End) {
	c = s.Dial(role, ln.Addr())
	srv = s.Accept(ln, "server")
	edge.Printf("%s: connected\n", role)
	return c, srv
}

// closeFirst has the client close, then the server, and prints what
// each step left.
func closeFirst(c, srv *edge.End) {
	overflows := edge.TCPExtCounter("TCPTimeWaitOverflow")
	before := edge.ReadCounters()
	edge.Printf("%s: close()\n", c.Name)
	c.Close()
	c.WaitState("FIN_WAIT2", "CLOSED")
	edge.PrintSegments()
	edge.Printf("  %s %s (sock_diag); TCPTimeWaitOverflow +%d\n", c.Name, c.State(),
		edge.TCPExtCounter("TCPTimeWaitOverflow")-overflows)
	edge.Println("server: close()")
	srv.Close()
	srv.WaitState("CLOSED")
	edge.PrintSegments()
	edge.Printf("  %s %s, server %s (sock_diag); %s\n", c.Name, c.State(), srv.State(),
		edge.ReadCounters().Since(before))
}
