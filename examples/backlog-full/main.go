// Backlog-full proves what a client sees when the listener's accept
// queue is full. If its SYN arrives then, the SYN is dropped: connect
// waits in SYN_SENT, and succeeds with the retransmitted SYN once the
// server has accepted a connection. If its SYN got in before, the
// handshake completes on the client's side but the last ACK is
// dropped: the client is ESTABLISHED, and writes, to a server that has
// no connection to accept until the client's retransmission arrives.
package main

import (
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 1.2s the dropped SYN is retransmitted after 1 s (TCP_TIMEOUT_INIT), the data after 200 ms (tcp_rto_min)
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

	edge.Println("# the SYN arrives at a full queue")
	edge.Println("client: connect()")
	client := s.Dial("client", addr)
	defer client.Close()
	edge.WaitFD(lfd, unix.POLLIN) // client is in the queue: it is full
	//tcpedges:show
	fd := socket()
	defer unix.Close(fd)
	edge.Println("client2: connect()")
	err := unix.Connect(fd, server)
	s.NameConn(edge.FDAddr(fd), addr, "client2")
	overflows := edge.WaitTCPExtCounter("ListenOverflows", 1)
	edge.Printf("client2: connect() = %s\n", edge.Ret(0, err))
	edge.Printf("server: ListenOverflows %d\n", overflows)
	st, err := edge.FDState(fd)
	check(err)
	edge.Printf("client2: %s\n", st)
	nfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	edge.Check(err, "accept")
	defer unix.Close(nfd)
	edge.Println("server: accept() = client")
	// The SYN is sent again one second after the first
	// (TCP_TIMEOUT_INIT, RFC 6298 2.1): a wait no sysctl shortens.
	edge.Gap(edge.RTO(fd))
	events := edge.WaitFD(fd, unix.POLLOUT)
	edge.WaitFD(lfd, unix.POLLIN) // client2's last ACK has arrived
	edge.Printf("client2: poll() until POLLOUT: %s\n", events)
	n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	edge.Printf("client2: getsockopt(SO_ERROR) = %s, SYNs retransmitted %d\n",
		edge.SOError(n), edge.TCPExtCounter("TCPSynRetrans"))
	//tcpedges:end

	edge.Println("# the SYN gets in, the last ACK arrives at a full queue")
	lfd = socket()
	defer unix.Close(lfd)
	check(unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	//tcpedges:show
	// TCP_DEFER_ACCEPT on the listener: it drops a handshake's bare
	// last ACK (tcp_check_req) and completes the handshake only with
	// an ACK that brings data. That puts another connection between
	// client3's SYN and the ACK that counts.
	check(unix.SetsockoptInt(lfd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 10))
	check(unix.Listen(lfd, 0))
	//tcpedges:end
	addr = edge.FDAddr(lfd)
	s.Name(addr, "server2")
	server = &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}}
	a := socket()
	defer unix.Close(a)
	//tcpedges:show
	edge.Println("client3: connect()")
	deferDrops := edge.TCPExtCounter("TCPDeferAcceptDrop")
	err = unix.Connect(a, server)
	s.NameConn(edge.FDAddr(a), addr, "client3")
	events = edge.WaitFD(a, unix.POLLOUT)
	edge.WaitTCPExtCounter("TCPDeferAcceptDrop", deferDrops+1)
	edge.Printf("client3: connect() = %s\n", edge.Ret(0, err))
	edge.Printf("client3: poll() until POLLOUT: %s\n", events)
	st = edge.WaitConnState(addr, edge.FDAddr(a), "SYN_RECV", "NEW_SYN_RECV")
	edge.Printf("  sock_diag: server2's side of client3 %s\n", st)
	// client4 fills the queue: its first data completes its handshake.
	// (Its segments are left out of the capture, which counts sequence
	// numbers per address, not per connection, and would print
	// client3's acks as absolute numbers.)
	b := socket()
	defer unix.Close(b)
	drops := edge.TCPExtCounter("ListenOverflows")
	edge.Println(`client4: connect(), write("x")`)
	check(ignore(unix.Connect(b, server), unix.EINPROGRESS))
	edge.WaitFD(b, unix.POLLOUT)
	_, err = unix.Write(b, []byte("x"))
	check(err)
	q, _ := edge.WaitSYNOutcome(addr, 0, drops)
	edge.Printf("server2: accept queue %d, full\n", q)
	edge.Println(`client3: write("hello")`)
	n, err = unix.Write(a, []byte("hello"))
	wrote := edge.Ret(n, err)
	rto := edge.RTO(a) // before any retransmission doubles it
	// The data carries the last ACK, which server2 drops: no room.
	overflows = edge.WaitTCPExtCounter("ListenOverflows", drops+1)
	// The story needs server2's accept before client3's data is resent
	// (its RTO, 200 ms): data resent to the full queue is dropped and
	// counted again. So the program looks, and accepts client4, first,
	// and prints after: each line after the segments before it, and
	// before the resend, however late it is printed (PrintAfter).
	st, err = edge.FDState(a)
	check(err)
	unacked, err := unix.IoctlGetInt(a, unix.SIOCOUTQ)
	check(err)
	st2 := edge.WaitConnState(addr, edge.FDAddr(a), "SYN_RECV", "NEW_SYN_RECV")
	nfd, _, err = unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	edge.Check(err, "accept")
	defer unix.Close(nfd)
	if edge.TCPExtCounter("ListenOverflows") > overflows {
		edge.Fatalf("client3's data was resent (after its 200 ms RTO) before server2 accepted client4: this machine ran the program too slowly to show the story")
	}
	s.PrintAfter(1, time.Second, "client3: write() = %s\n", wrote)
	s.PrintAfter(0, 0, "server2: ListenOverflows %d\n", overflows)
	s.PrintAfter(0, 0, "client3: %s, %d bytes unacknowledged\n", st, unacked)
	s.PrintAfter(0, 0, "  sock_diag: server2's side of client3 %s\n", st2)
	s.PrintAfter(0, 0, "server2: accept() = client4\n")
	// client3 sends its data again after its retransmission timeout
	// (on loopback the minimum, tcp_rto_min, 200ms); this time the
	// ACK in it completes the handshake.
	s.GapSegments(rto, 2, 2*time.Second)
	events = edge.WaitFD(lfd, unix.POLLIN)
	nfd, _, err = unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	edge.Check(err, "accept")
	defer unix.Close(nfd)
	buf := make([]byte, 16)
	n, err = unix.Read(nfd, buf)
	check(err)
	edge.WaitAcked(a) // server2's ACK of the data has reached client3
	edge.Printf("server2: poll() until POLLIN: %s\n", events)
	edge.Printf("server2: accept() = client3, read() = %q\n", buf[:n])
	//tcpedges:end
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
