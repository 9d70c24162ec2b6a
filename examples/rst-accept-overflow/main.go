// Rst-accept-overflow proves the sixth cause of RST: a handshake that
// completes while the listener's accept queue is full, on a host where
// net.ipv4.tcp_abort_on_overflow is 1. The kernel then answers the
// client's ACK with an RST, and the client, which believed itself
// connected, reads ECONNRESET. The sysctl is set only inside a network
// namespace this program creates and removes.
package main

import (
	"net"
	"syscall"

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
		// SYN first. TCP_DEFER_ACCEPT on a connecting socket makes
		// it hold back the last ACK of the handshake: it will ride
		// on the first data.
		//
		// The held-back ACK is not held forever: client2's delayed
		// ACK timer sends it after TCP_DELACK_MAX (200 ms), so
		// client1 and client2's data must come before.
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				check(unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1))
			})
		}}
		//tcpedges:show
		edge.Println("client2: setsockopt(TCP_DEFER_ACCEPT, 1), connect()")
		c, err := d.Dial("tcp4", server.String())
		edge.Check(err, "connect")
		late := s.End("client2", c.(*net.TCPConn))
		edge.Println("client2: connect() returned, its ACK held back")

		// client1, a plain blocking connect(), completes its
		// handshake at once and fills the queue. It has no role,
		// so its segments are left out of the capture.
		first, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		edge.Check(err, "socket")
		defer unix.Close(first)
		check(unix.Connect(first, sa))
		edge.Println("client1: connect() returned; the accept queue is full")

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

		// The connection in the queue is fine.
		fd, _, err := unix.Accept(ln)
		edge.Check(err, "accept")
		unix.Close(fd)
		edge.Println("server: accept() returns client1's connection")
	})
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
