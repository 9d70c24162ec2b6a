// Rst-accept-overflow proves the sixth cause of RST: a handshake that
// completes while the listener's accept queue is full, on a host where
// net.ipv4.tcp_abort_on_overflow is 1. The kernel then answers the
// client's ACK with an RST, and the client, which believed itself
// connected, reads ECONNRESET. The sysctl is set only inside a network
// namespace this program creates and removes.
package main

import (
	"net"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	h := edge.NewHost("server")
	defer h.Close()
	// The default, 0, drops the ACK and lets the client retransmit.
	h.Sysctl("net.ipv4.tcp_abort_on_overflow", "1")

	h.Do(func() {
		s := edge.NewScene()
		defer s.Close()

		// listen(fd, 0): an accept queue that holds one connection
		// (sk_acceptq_is_full is "more than backlog"). Nobody
		// accepts.
		ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		edge.Check(err, "socket")
		defer unix.Close(ln)
		check(unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
		check(unix.Listen(ln, 0))
		sa, err := unix.Getsockname(ln)
		check(err)
		server := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*unix.SockaddrInet4).Port}
		s.Name(server, "server")
		edge.Println("server: listen(fd, 0), and no accept()")

		// A SYN is dropped outright once the queue is full
		// (tcp_conn_request), so the late client must send its
		// SYN first, and complete its handshake after client1.
		// TCP_DEFER_ACCEPT on the listener makes the server drop a
		// handshake's bare last ACK (tcp_check_req) and complete it
		// only with an ACK that brings data. It sends nothing in
		// the meantime: its SYN-ACK is resent only near the end of
		// the 10 s (syn_ack_recalc).
		//tcpedges:show
		edge.Println("server: setsockopt(TCP_DEFER_ACCEPT, 10)")
		check(unix.SetsockoptInt(ln, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 10))
		edge.Println("client2: connect()")
		deferDrops := edge.TCPExtCounter("TCPDeferAcceptDrop")
		c, err := net.Dial("tcp4", server.String())
		edge.Check(err, "connect")
		late := s.End("client2", c.(*net.TCPConn))
		edge.WaitTCPExtCounter("TCPDeferAcceptDrop", deferDrops+1)
		edge.Println("client2: connect() returned; the server dropped its bare ACK")

		// client1, a plain blocking connect(), and its first data
		// complete its handshake and fill the queue. It has no
		// role, so its segments are left out of the capture.
		first, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		edge.Check(err, "socket")
		defer unix.Close(first)
		check(unix.Connect(first, sa))
		_, err = unix.Write(first, []byte("x"))
		check(err)
		edge.WaitFD(ln, unix.POLLIN) // client1 is in the queue
		edge.Println(`client1: connect(), write("x"); the accept queue is full`)

		// The data carries client2's ACK. The server would now make
		// the connection (tcp_check_req), finds the queue full, and
		// with tcp_abort_on_overflow resets it instead.
		edge.Println(`client2: conn.Write("hi")`)
		n, err := late.Write([]byte("hi"))
		late.WaitState("CLOSED")
		edge.Printf("client2: conn.Write = %d, err %s\n", n, s.Describe(err))
		st, err := edge.FDState(first)
		check(err)
		edge.Printf("  states: client1 %s, client2 %s\n", st, late.State())

		n, err = late.Read(make([]byte, 64))
		edge.Printf("client2: conn.Read = %d, err %s\n", n, s.Describe(err))
		//tcpedges:end
		late.Close()

		// The connection in the queue is fine. (Its "x" is read,
		// so that closing it sends a FIN, not an RST.)
		fd, _, err := unix.Accept(ln)
		edge.Check(err, "accept")
		_, err = unix.Read(fd, make([]byte, 1))
		check(err)
		unix.Close(fd)
		edge.Println("server: accept() returns client1's connection")
	})
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
