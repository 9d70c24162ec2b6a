// Rst-reasons shows the kernel's own account of each cause of RST in
// this chapter: the counters nstat prints (Tcp.OutRsts counts every
// RST sent; TcpExt.TCPAbortOn* and EmbryonicRsts count reasons). Each
// cause runs on a host of its own, a fresh network namespace, so the
// counters move for that cause alone.
package main

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:slow each cause runs on a host of its own, so that the kernel's counters count it alone: nine network namespaces, created and freed, cost about 10 ms each
func main() {
	edge.ParseFlags()
	count("1. SYN to a port nobody listens on", nil, func(s *edge.Scene) {
		ln := s.Listen("server")
		ln.Close()
		_, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
		if !errors.Is(err, syscall.ECONNREFUSED) {
			edge.Fatalf("connect to the closed port: %v, where the story needs ECONNREFUSED", err)
		}
	})
	//tcpedges:show
	count("2. close() with unread data", nil, func(s *edge.Scene) {
		c, srv := pair(s)
		_, err := c.Write([]byte("unread"))
		check(err)
		edge.WaitFD(srv.FD, unix.POLLIN)
		srv.Close()
		c.WaitState("CLOSED")
	})
	//tcpedges:end
	count("3. close() with SO_LINGER {1, 0}", nil, func(s *edge.Scene) {
		c, srv := pair(s)
		check(c.SetLinger(0))
		c.Close()
		srv.WaitState("CLOSED")
	})
	dataAfterClose := func(s *edge.Scene) {
		c, srv := pair(s)
		srv.Close()
		srv.WaitState("FIN_WAIT2")
		_, err := c.Write([]byte("late"))
		check(err)
		c.WaitState("CLOSED")
	}
	count("4. data for a closed socket", nil, dataAfterClose)
	// Above 60s, the orphan in FIN_WAIT2 stays a full socket
	// instead of becoming a timewait socket (tcp_rcv_state_process).
	count("4. the same, with tcp_fin_timeout 61", []string{"net.ipv4.tcp_fin_timeout", "61"}, dataAfterClose)
	count("5. a segment for a forgotten connection", nil, func(s *edge.Scene) {
		c, srv := pair(s)
		check(unix.SetsockoptInt(srv.FD, unix.IPPROTO_TCP, unix.TCP_REPAIR, 1))
		srv.Close()
		_, err := c.Write([]byte("anyone?"))
		check(err)
		c.WaitState("CLOSED")
	})
	count("6. accept queue full, tcp_abort_on_overflow 1", []string{"net.ipv4.tcp_abort_on_overflow", "1"}, func(s *edge.Scene) {
		ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		edge.Check(err, "socket")
		defer unix.Close(ln)
		check(unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
		check(unix.Listen(ln, 0))
		sa, err := unix.Getsockname(ln)
		check(err)
		addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*unix.SockaddrInet4).Port}
		// As in rst-accept-overflow: TCP_DEFER_ACCEPT on the
		// listener drops client2's bare ACK, client1 and its data
		// fill the queue, client2's data meets it full.
		check(unix.SetsockoptInt(ln, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 10))
		c2, err := net.Dial("tcp4", addr.String())
		edge.Check(err, "connect")
		late := s.End("client2", c2.(*net.TCPConn))
		defer late.Close()
		c1, err := net.DialTCP("tcp4", nil, addr)
		check(err)
		defer c1.Close()
		_, err = c1.Write([]byte("x"))
		check(err)
		edge.WaitFD(ln, unix.POLLIN) // client1 is in the queue
		_, err = late.Write([]byte("hi"))
		check(err)
		late.WaitState("CLOSED")
		// Accept client1, so that closing the listener resets
		// nothing (see the last cause), and read its "x", so
		// that closing it resets nothing either (cause 2).
		fd, _, err := unix.Accept(ln)
		edge.Check(err, "accept")
		_, err = unix.Read(fd, make([]byte, 1))
		check(err)
		unix.Close(fd)
	})
	// TCP_LINGER2 < 0: an orphan must not wait in FIN_WAIT2 for the
	// peer's FIN. Closed in FIN_WAIT1, it is reset when the ACK of
	// its FIN arrives (tcp_rcv_state_process); closed in FIN_WAIT2,
	// after shutdown(SHUT_WR), at once (__tcp_close).
	count("close() with TCP_LINGER2 -1", nil, func(s *edge.Scene) {
		c, srv := pair(s)
		check(unix.SetsockoptInt(srv.FD, unix.IPPROTO_TCP, unix.TCP_LINGER2, -1))
		srv.Close()
		c.WaitState("CLOSED")
	})
	count("shutdown(SHUT_WR), then close() with TCP_LINGER2 -1", nil, func(s *edge.Scene) {
		c, srv := pair(s)
		check(unix.SetsockoptInt(srv.FD, unix.IPPROTO_TCP, unix.TCP_LINGER2, -1))
		check(srv.CloseWrite())
		srv.WaitState("FIN_WAIT2")
		srv.Close()
		c.WaitState("CLOSED")
	})
	count("close() of a listener with a connection not accepted", nil, func(s *edge.Scene) {
		ln := s.Listen("server")
		c := s.Dial("client", ln.Addr())
		defer c.Close()
		ln.Close()
		c.WaitState("CLOSED")
	})
}

// count runs cause on a new host, with one sysctl set there if
// sysctl is not nil, and prints the RST counters that moved.
func count(name string, sysctl []string, cause func(s *edge.Scene)) {
	h := edge.NewHost("host")
	defer h.Close()
	if sysctl != nil {
		h.Sysctl(sysctl[0], sysctl[1])
	}
	h.Do(func() {
		s := edge.NewQuietScene()
		defer s.Close()
		edge.Println(name + ":")
		//tcpedges:show
		before := edge.ReadCounters()
		cause(s)
		edge.Println("  " + edge.ReadCounters().Since(before))
		//tcpedges:end
	})
}

// pair connects a client to a server on s, and closes the listener.
func pair(s *edge.Scene) (client, server *edge.End) {
	ln := s.Listen("server")
	defer ln.Close()
	client = s.Dial("client", ln.Addr())
	return client, s.Accept(ln, "server")
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
