// Rst-accept-overflow proves the sixth cause of RST: a handshake that
// completes while the listener's accept queue is full, on a host where
// net.ipv4.tcp_abort_on_overflow is 1. The kernel then answers the
// client's ACK with an RST, and the client, which believed itself
// connected, reads ECONNRESET. The sysctl is set only inside a network
// namespace this program creates and removes.
package main

import (
	"fmt"
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
		fmt.Println("server: listen(fd, 0), and no accept()")

		// A SYN is dropped outright once the queue is full
		// (tcp_conn_request), so the late client must send its
		// SYN first. TCP_DEFER_ACCEPT on a connecting socket makes
		// it hold back the last ACK of the handshake: it will ride
		// on the first data.
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				check(unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1))
			})
		}}
		c, err := d.Dial("tcp4", server.String())
		edge.Check(err, "connect")
		late := s.End("client2", c.(*net.TCPConn))
		fmt.Println("client2: connect() returned, its ACK held back")
		s.PrintSegments()

		// client1, a plain blocking connect(), completes its
		// handshake at once and fills the queue. It has no role,
		// so its segments are left out of the capture.
		first, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		edge.Check(err, "socket")
		defer unix.Close(first)
		check(unix.Connect(first, sa))
		fmt.Println("client1: connect() returned; the accept queue is full")

		// The data carries client2's ACK. The server would now make
		// the connection (tcp_check_req), finds the queue full, and
		// with tcp_abort_on_overflow resets it instead.
		n, err := late.Write([]byte("hi"))
		fmt.Printf("client2: conn.Write(\"hi\") = %d, err %s\n", n, s.Describe(err))
		late.WaitState("CLOSED")
		s.PrintSegments()
		st, err := edge.FDState(first)
		check(err)
		fmt.Printf("  states: client1 %s, client2 %s\n", st, late.State())

		n, err = late.Read(make([]byte, 64))
		fmt.Printf("client2: conn.Read = %d, err %s\n", n, s.Describe(err))
		late.Close()

		// The connection in the queue is fine.
		fd, _, err := unix.Accept(ln)
		edge.Check(err, "accept")
		unix.Close(fd)
		fmt.Println("server: accept() returns client1's connection")
	})
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
