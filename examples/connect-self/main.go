// Connect-self proves that a socket can connect to itself with no
// listener anywhere: bound to 127.0.0.1:P and connecting to
// 127.0.0.1:P, its SYN arrives at itself, and TCP's simultaneous open
// (RFC 9293 3.5) makes it ESTABLISHED, talking to itself. It happens by
// accident to a client that retries a local port in the ephemeral
// range; Go's net.Dial checks for it, closes the connection and tries
// again.
package main

import (
	"net"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	h := edge.NewHost("host")
	var s *edge.Scene
	h.Do(func() { s = edge.NewScene() })
	defer s.Close()

	// Each part gives the host an ephemeral range of one port, so that
	// the kernel's choice of a local port is known.
	edge.Println("# bind to 127.0.0.1:P, connect to 127.0.0.1:P")
	h.Sysctl("net.ipv4.ip_local_port_range", "40000 40000")
	h.Do(func() {
		//tcpedges:show
		fd := socket()
		// Port 0: the kernel picks P from the ephemeral range.
		check(unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
		self := edge.FDAddr(fd)
		s.Name(self, "self")
		edge.Printf("bind() picked port %d\n", self.Port)
		edge.Printf("connect() to port %d\n", self.Port)
		err := unix.Connect(fd, &unix.SockaddrInet4{Port: self.Port, Addr: [4]byte{127, 0, 0, 1}})
		handshake(fd, err)
		echo(fd)
		//tcpedges:end
	})

	edge.Println("# a client retries port 40002 on 127.0.0.1, where nothing listens")
	h.Sysctl("net.ipv4.ip_local_port_range", "40002 40002")
	h.Do(func() {
		fd := socket()
		// No bind: connect picks the local port, from the ephemeral
		// range, and the one port there is the one it connects to.
		edge.Println("connect() to port 40002")
		err := unix.Connect(fd, &unix.SockaddrInet4{Port: 40002, Addr: [4]byte{127, 0, 0, 1}})
		s.Name(edge.FDAddr(fd), "client")
		handshake(fd, err)
		edge.Printf("  connect picked port %d\n", edge.FDAddr(fd).Port)
		echo(fd)
	})

	edge.Println("# net.Dial to port 40004 on 127.0.0.1, where nothing listens")
	h.Sysctl("net.ipv4.ip_local_port_range", "40004 40004")
	h.Do(func() {
		dialer := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40004}
		s.Name(dialer, "dialer")
		// net.Dial connects to itself, sees it (selfConnect in
		// net/tcpsock_posix.go), closes the connection and dials again:
		// but the one ephemeral port is now in TIME_WAIT.
		//tcpedges:show
		edge.Println("net.Dial() to port 40004")
		c, err := net.Dial("tcp", "127.0.0.1:40004")
		//tcpedges:end
		if err == nil {
			c.Close()
		}
		// The close's last ACK has arrived once the port is in TIME_WAIT.
		st := edge.WaitConnState(dialer, dialer, "TIME_WAIT")
		edge.Printf("net.Dial: err %s\n", s.Describe(err))
		edge.Printf("  sock_diag: port 40004 connected to itself, %s\n", st)
	})
}

// handshake waits for the handshake and prints what connect returned
// and what the socket says.
func handshake(fd int, connectErr error) {
	events := edge.WaitFD(fd, unix.POLLOUT)
	edge.Printf("connect() = %s\n", edge.Ret(0, connectErr))
	edge.Printf("poll() until POLLOUT: %s\n", events)
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	edge.Printf("  getsockopt(SO_ERROR) = %s\n", edge.SOError(n))
	st, err := edge.FDState(fd)
	check(err)
	peer, err := unix.Getpeername(fd)
	check(err)
	edge.Printf("  state %s, peer address = own address: %v\n", st,
		peer.(*unix.SockaddrInet4).Port == edge.FDAddr(fd).Port)
}

// echo writes to the socket, and reads what it wrote: it talks to
// itself.
func echo(fd int) {
	edge.Printf("write(%q)\n", "echo")
	_, err := unix.Write(fd, []byte("echo"))
	check(err)
	edge.WaitFD(fd, unix.POLLIN)
	buf := make([]byte, 16)
	n, err := unix.Read(fd, buf)
	check(err)
	// The data's ACK, which the socket sent itself, has arrived.
	edge.WaitAcked(fd)
	edge.Printf("read() = %q\n", buf[:n])
}

func socket() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket")
	return fd
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
