// Backlog-full proves what a client sees when the listener's accept
// queue is full. If its SYN arrives then, the SYN is dropped: connect
// waits in SYN_SENT, and succeeds with the retransmitted SYN once the
// server has accepted a connection. If its SYN got in before, the
// handshake completes on the client's side but the last ACK is
// dropped: the client is ESTABLISHED, and writes, to a server that has
// no connection to accept until the client's retransmission arrives.
package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 1s the dropped SYN is retransmitted after 1 s (TCP_TIMEOUT_INIT)
func main() {
	edge.ParseFlags()
	// A host of our own, so that its counters count this program's
	// segments only.
	h := edge.NewHost("server")
	h.Do(run)
}

func run() {
	s := edge.NewScene()
	defer s.Close()
	lfd := socket()
	defer unix.Close(lfd)
	check(unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	// listen(fd, 0): room for one connection.
	check(unix.Listen(lfd, 0))
	addr := edge.FDAddr(lfd)
	s.Name(addr, "server")
	server := &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}}

	fmt.Println("# the SYN arrives at a full queue")
	client := s.Dial("client", addr)
	defer client.Close()
	fd := socket()
	defer unix.Close(fd)
	err := unix.Connect(fd, server)
	s.Name(edge.FDAddr(fd), "client2")
	fmt.Printf("client2: connect() = %s\n", edge.Ret(0, err))
	fmt.Printf("server: ListenOverflows %d\n", edge.WaitTCPExtCounter("ListenOverflows", 1))
	st, err := edge.FDState(fd)
	check(err)
	fmt.Printf("client2: %s\n", st)
	s.PrintSegments()
	nfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	edge.Check(err, "accept")
	defer unix.Close(nfd)
	fmt.Println("server: accept() = client")
	// The SYN is sent again one second after the first
	// (TCP_TIMEOUT_INIT, RFC 6298 2.1): a wait no sysctl shortens.
	fmt.Printf("client2: poll(POLLOUT) = %s\n", edge.WaitFD(fd, unix.POLLOUT))
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	fmt.Printf("client2: getsockopt(SO_ERROR) = %s, SYNs retransmitted %d\n",
		edge.SOError(n), edge.TCPExtCounter("TCPSynRetrans"))
	edge.WaitFD(lfd, unix.POLLIN)
	s.PrintSegments()

	fmt.Println("# the SYN gets in, the last ACK arrives at a full queue")
	lfd = socket()
	defer unix.Close(lfd)
	check(unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	check(unix.Listen(lfd, 0))
	addr = edge.FDAddr(lfd)
	s.Name(addr, "server2")
	server = &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}}
	a := socket()
	defer unix.Close(a)
	// On a connecting socket, TCP_DEFER_ACCEPT makes the kernel keep
	// the handshake's last ACK back (tcp_rcv_synsent_state_process),
	// to send it with the first data: that puts other connections
	// between this SYN and its ACK.
	check(unix.SetsockoptInt(a, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1))
	err = unix.Connect(a, server)
	s.Name(edge.FDAddr(a), "clientA")
	fmt.Printf("clientA: connect() = %s\n", edge.Ret(0, err))
	fmt.Printf("clientA: poll(POLLOUT) = %s\n", edge.WaitFD(a, unix.POLLOUT))
	st = edge.WaitConnState(addr, edge.FDAddr(a), "SYN_RECV", "NEW_SYN_RECV")
	fmt.Printf("  sock_diag: server2's side of clientA %s\n", st)
	// clientB fills the queue. (Its segments are left out of the
	// capture, which counts sequence numbers per address, not per
	// connection, and would print clientA's acks as absolute numbers.)
	b := socket()
	defer unix.Close(b)
	drops := edge.TCPExtCounter("ListenOverflows")
	check(ignore(unix.Connect(b, server), unix.EINPROGRESS))
	q, _ := edge.WaitSYNOutcome(addr, 0, drops)
	fmt.Printf("clientB: connect(); server2: accept queue %d, full\n", q)
	n, err = unix.Write(a, []byte("hello"))
	fmt.Printf("clientA: write() = %s\n", edge.Ret(n, err))
	fmt.Printf("server2: ListenOverflows %d\n", edge.WaitTCPExtCounter("ListenOverflows", drops+1))
	st, err = edge.FDState(a)
	check(err)
	unacked, err := unix.IoctlGetInt(a, unix.SIOCOUTQ)
	check(err)
	fmt.Printf("clientA: %s, %d bytes unacknowledged\n", st, unacked)
	st = edge.WaitConnState(addr, edge.FDAddr(a), "SYN_RECV", "NEW_SYN_RECV")
	fmt.Printf("  sock_diag: server2's side of clientA %s\n", st)
	s.PrintSegments()
	nfd, _, err = unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	edge.Check(err, "accept")
	defer unix.Close(nfd)
	fmt.Println("server2: accept() = clientB")
	// clientA sends its data again after its retransmission timeout
	// (on loopback the minimum, tcp_rto_min, 200ms); this time the
	// ACK in it completes the handshake.
	fmt.Printf("server2: poll(POLLIN) = %s\n", edge.WaitFD(lfd, unix.POLLIN))
	nfd, _, err = unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	edge.Check(err, "accept")
	defer unix.Close(nfd)
	buf := make([]byte, 16)
	n, err = unix.Read(nfd, buf)
	check(err)
	fmt.Printf("server2: accept() = clientA, read() = %q\n", buf[:n])
	edge.WaitAcked(a)
	s.PrintSegments()
}

func socket() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket")
	return fd
}

// ignore returns nil for the error expected, err otherwise.
func ignore(err, expected error) error {
	if err == expected {
		return nil
	}
	return err
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
