// Connect-nonblocking proves how a non-blocking connect(2) reports its
// result: connect returns EINPROGRESS at once, poll(2) reports the
// socket writable when the handshake is over, and getsockopt(SO_ERROR)
// says how it ended — 0, or ECONNREFUSED when the port had no
// listener. Reading SO_ERROR clears it, and calling connect again
// answers differently each time.
package main

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	s := edge.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()
	server := sockaddr(ln.Addr())
	// A port nobody listens on: a socket bound to it that does not
	// listen. Held bound, the port is never given to a connect of ours
	// as its local port, which would then connect to itself.
	hold, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket for the closed port")
	defer unix.Close(hold)
	edge.Check(unix.Bind(hold, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}), "bind the closed port")
	s.Name(edge.FDAddr(hold), "closed")
	closed := sockaddr(edge.FDAddr(hold))

	fmt.Println("# a listener")
	fd := connect(s, server, "client")
	// POLLOUT: the handshake is over, one way or the other.
	fmt.Printf("client: poll(POLLOUT) = %s\n", edge.WaitFD(fd, unix.POLLOUT))
	soError(fd)
	// Linux answers the first connect after the handshake with 0 (the
	// socket moves from SS_CONNECTING to SS_CONNECTED in
	// __inet_stream_connect); only later ones with EISCONN.
	fmt.Printf("client: connect() again = %s\n", ret(unix.Connect(fd, server)))
	fmt.Printf("client: connect() again = %s\n", ret(unix.Connect(fd, server)))
	state(fd, "client")
	s.PrintSegments()
	defer unix.Close(fd)

	fmt.Println("# no listener")
	fd = connect(s, closed, "client2")
	// The RST wakes poll with POLLERR and POLLHUP as well as POLLOUT.
	fmt.Printf("client2: poll(POLLOUT) = %s\n", edge.WaitFD(fd, unix.POLLOUT))
	soError(fd)
	// Reading SO_ERROR cleared the error (sock_error takes it): a
	// second read says 0, and connect, which finds the socket CLOSED
	// with no error left, says ECONNABORTED.
	soError(fd)
	fmt.Printf("client2: connect() again = %s\n", ret(unix.Connect(fd, closed)))
	state(fd, "client2")
	s.PrintSegments()
	unix.Close(fd)

	fmt.Println("# no listener, asking connect instead of SO_ERROR")
	fd = connect(s, closed, "client3")
	fmt.Printf("client3: poll(POLLOUT) = %s\n", edge.WaitFD(fd, unix.POLLOUT))
	// connect takes the pending error as getsockopt does...
	fmt.Printf("client3: connect() again = %s\n", ret(unix.Connect(fd, closed)))
	// ...and leaves the socket unconnected, so the next connect is a
	// new attempt: a new SYN, from a new port (the RST released the
	// one connect had picked).
	before := edge.FDAddr(fd)
	fmt.Printf("client3: connect() again = %s\n", ret(unix.Connect(fd, closed)))
	after := edge.FDAddr(fd)
	if after.Port == before.Port {
		// With very few local ports (net.ipv4.ip_local_port_range)
		// the kernel may have no other to give.
		edge.Fatalf("client3: the new attempt was given the same local port, as happens with few local ports (net.ipv4.ip_local_port_range); the story needs a new one")
	}
	fmt.Printf("  same local port as before: %v\n", after.Port == before.Port)
	s.Name(after, "client3-again")
	fmt.Printf("client3: poll(POLLOUT) = %s\n", edge.WaitFD(fd, unix.POLLOUT))
	soError(fd)
	s.PrintSegments()
	unix.Close(fd)
}

// connect makes a non-blocking socket and starts a connect on it.
func connect(s *edge.Scene, server *unix.SockaddrInet4, role string) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket")
	err = unix.Connect(fd, server)
	if err != unix.EINPROGRESS {
		edge.Fatalf("%s: connect() = %s, where the story needs EINPROGRESS", role, ret(err))
	}
	// connect has picked a local port; name it for the capture.
	s.Name(edge.FDAddr(fd), role)
	fmt.Printf("%s: connect() = %s\n", role, ret(err))
	return fd
}

func sockaddr(a net.Addr) *unix.SockaddrInet4 {
	return &unix.SockaddrInet4{Port: a.(*net.TCPAddr).Port, Addr: [4]byte{127, 0, 0, 1}}
}

func soError(fd int) {
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	edge.Check(err, "getsockopt SO_ERROR")
	fmt.Printf("  getsockopt(SO_ERROR) = %s\n", edge.SOError(n))
}

func state(fd int, role string) {
	st, err := edge.FDState(fd)
	edge.Check(err, role)
	fmt.Printf("  state: %s %s\n", role, st)
}

func ret(err error) string { return edge.Ret(0, err) }
