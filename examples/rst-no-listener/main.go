// Rst-no-listener proves the first cause of RST: a SYN to a port where
// nobody listens. The port here is bound but not listening, so no
// other program can take it meanwhile. The kernel answers the SYN with
// an RST, and connect fails with ECONNREFUSED; no socket on the
// server's side ever existed.
package main

import (
	"errors"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	s := edge.NewScene()
	defer s.Close()

	// A socket bound to 127.0.0.1 on a port the kernel picks, and no
	// listen(): the port is ours, and nobody accepts on it.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	edge.Check(err, "socket")
	defer unix.Close(fd)
	check(unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := unix.Getsockname(fd)
	check(err)
	port := sa.(*unix.SockaddrInet4).Port
	server := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	s.Name(server, "server")
	st, err := edge.FDState(fd)
	check(err)
	edge.Printf("server: bound, no listen(): %s\n", st)

	// connect(2), as net.Dial makes it. Control runs before the
	// connect: there we bind the client too, so that the capture
	// can name its port.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(cfd uintptr) {
			check(unix.Bind(int(cfd), &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
			ca, err := unix.Getsockname(int(cfd))
			check(err)
			s.Name(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: ca.(*unix.SockaddrInet4).Port}, "client")
		})
	}}
	//tcpedges:show
	edge.Println("client: connect()")
	_, err = d.Dial("tcp4", server.String())
	if se := new(os.SyscallError); !errors.As(err, &se) || se.Syscall != "connect" {
		edge.Fatalf("client: net.Dial: %v, where the story needs its connect(2) refused", err)
	}
	// The RST came back in answer to the SYN (tcp_v4_send_reset, in
	// tcp_v4_rcv when no socket matches) before Dial returned.
	s.PrintSegments()
	edge.Printf("client: net.Dial err %s\n", s.Describe(err))
	edge.Printf("client: errors.Is(err, syscall.ECONNREFUSED) %v\n",
		errors.Is(err, syscall.ECONNREFUSED))
	//tcpedges:end

	// The bound socket saw nothing: the kernel answered for it.
	st, err = edge.FDState(fd)
	check(err)
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	edge.Printf("server: %s, SO_ERROR %d\n", st, soerr)
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
