// Connect-nonblocking proves how a non-blocking connect(2) reports its
// result: connect returns EINPROGRESS at once, poll(2) reports the
// socket writable when the handshake is over, and getsockopt(SO_ERROR)
// says how it ended — 0, or ECONNREFUSED when the port had no
// listener. Reading SO_ERROR clears it, and calling connect again
// answers differently each time.
package main

import (
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

	edge.Println("# a listener")
	//tcpedges:show
	fd := socket()
	connect(s, fd, server, "client")
	soError(fd)
	// Linux answers the first connect after the handshake with 0 (the
	// socket moves from SS_CONNECTING to SS_CONNECTED in
	// __inet_stream_connect); only later ones with EISCONN.
	edge.Printf("client: connect() again = %s\n", ret(unix.Connect(fd, server)))
	edge.Printf("client: connect() again = %s\n", ret(unix.Connect(fd, server)))
	//tcpedges:end
	state(fd, "client")
	s.PrintSegments()
	defer unix.Close(fd)

	edge.Println("# no listener")
	fd = socket()
	//tcpedges:show
	connect(s, fd, closed, "client2")
	soError(fd)
	// Reading SO_ERROR cleared the error (sock_error takes it): a
	// second read says 0, and connect, which finds the socket CLOSED
	// with no error left, says ECONNABORTED.
	soError(fd)
	edge.Printf("client2: connect() again = %s\n", ret(unix.Connect(fd, closed)))
	//tcpedges:end
	state(fd, "client2")
	s.PrintSegments()
	unix.Close(fd)

	edge.Println("# no listener, asking connect instead of SO_ERROR")
	fd = socket()
	connect(s, fd, closed, "client3")
	//tcpedges:show
	// connect takes the pending error as getsockopt does...
	edge.Printf("client3: connect() again = %s\n", ret(unix.Connect(fd, closed)))
	// ...and leaves the socket unconnected, so the next connect is a
	// new attempt: a new SYN, from a new port (the RST released the
	// one connect had picked).
	before := edge.FDAddr(fd)
	connect(s, fd, closed, "client3-again")
	after := edge.FDAddr(fd)
	if after.Port == before.Port {
		// With very few local ports (net.ipv4.ip_local_port_range)
		// the kernel may have no other to give.
		edge.Fatalf("client3: the new attempt was given the same local port, as happens with few local ports (net.ipv4.ip_local_port_range); the story needs a new one")
	}
	edge.Printf("  same local port as before: %v\n", after.Port == before.Port)
	soError(fd)
	//tcpedges:end
	s.PrintSegments()
	unix.Close(fd)
}

// socket makes a non-blocking TCP socket.
func socket() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket")
	return fd
}

// connect starts a connect on fd, as role, and waits with poll(2) for
// the socket to be writable: the handshake is over, one way or the
// other. Then it prints what connect and poll returned. (On loopback
// the handshake is usually over before connect returns; the wait
// makes it always so in the output.)
func connect(s *edge.Scene, fd int, server *unix.SockaddrInet4, role string) {
	edge.Printf("%s: connect()\n", role)
	err := unix.Connect(fd, server)
	if err != unix.EINPROGRESS {
		edge.Fatalf("%s: connect() = %s, where the story needs EINPROGRESS", role, ret(err))
	}
	// connect has picked a local port; name it for the capture.
	s.NameConn(edge.FDAddr(fd), &net.TCPAddr{IP: server.Addr[:], Port: server.Port}, role)
	events := edge.WaitFD(fd, unix.POLLOUT)
	if st, _ := edge.FDState(fd); st == "ESTABLISHED" {
		// The client's last ACK has reached the server too.
		edge.WaitConnState(sockaddrTCP(server), edge.FDAddr(fd), "ESTABLISHED")
	}
	edge.Printf("%s: connect() = %s\n", role, ret(err))
	edge.Printf("%s: poll() until POLLOUT: %s\n", role, events)
}

func sockaddr(a net.Addr) *unix.SockaddrInet4 {
	return &unix.SockaddrInet4{Port: a.(*net.TCPAddr).Port, Addr: [4]byte{127, 0, 0, 1}}
}

func sockaddrTCP(sa *unix.SockaddrInet4) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
}

func soError(fd int) {
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	edge.Check(err, "getsockopt SO_ERROR")
	edge.Printf("  getsockopt(SO_ERROR) = %s\n", edge.SOError(n))
}

func state(fd int, role string) {
	st, err := edge.FDState(fd)
	edge.Check(err, role)
	edge.Printf("  state: %s %s\n", role, st)
}

func ret(err error) string { return edge.Ret(0, err) }
