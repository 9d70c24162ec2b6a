// Backlog-syncookies proves what SYN cookies protect and what they do
// not. With tcp_syncookies=1, the default, a listener whose queue of
// half-open requests is full answers the next SYN with a cookie: a
// SYN-ACK for which it keeps no state, and the connection still
// completes. With tcp_syncookies=2 (a cookie for every SYN) and the
// accept queue full, the next SYN is dropped, and no cookie is sent.
package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	// A host of our own, so that its counters count this program's
	// segments only and its sysctls change nothing else.
	h := edge.NewHost("server")
	h.Sysctl("net.ipv4.tcp_syncookies", "1")
	h.Do(requestQueueFull)
	h.Sysctl("net.ipv4.tcp_syncookies", "2")
	h.Do(acceptQueueFull)
}

// requestQueueFull fills the listener's queue of half-open requests
// (SYN_RECV) and connects once more.
func requestQueueFull() {
	edge.Println("# tcp_syncookies=1, the request queue is full")
	s := edge.NewScene()
	defer s.Close()
	lfd := socket()
	defer unix.Close(lfd)
	check(unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	//tcpedges:show
	// TCP_DEFER_ACCEPT on the listener: the handshake's bare last ACK
	// is dropped (tcp_check_req), so the request stays half-open,
	// SYN_RECV, until data arrives. The clients below send none.
	check(unix.SetsockoptInt(lfd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 10))
	check(unix.Listen(lfd, 1))
	//tcpedges:end
	addr := edge.FDAddr(lfd)
	s.Name(addr, "server")
	server := &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}}
	edge.Println("server: listen(fd, 1), TCP_DEFER_ACCEPT")

	ports := map[int]string{}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("client%d", i)
		sent := edge.TCPExtCounter("SyncookiesSent")
		fd := socket()
		defer unix.Close(fd)
		edge.Printf("%s: connect()\n", name)
		err := unix.Connect(fd, server)
		if err != unix.EINPROGRESS {
			edge.Fatalf("%s: connect() = %s", name, edge.Ret(0, err))
		}
		s.NameConn(edge.FDAddr(fd), addr, name)
		ports[edge.FDAddr(fd).Port] = name
		edge.WaitFD(fd, unix.POLLOUT)
		// The client is ESTABLISHED once it has the SYN-ACK. The
		// server either keeps a request for it (SYN_RECV), or, when
		// that queue is full, sent a cookie and keeps nothing until
		// the ACK brings the cookie back (cookie_v4_check), which
		// makes the connection at once.
		//tcpedges:show
		var st string
		if i < 3 {
			// The bare ACK is dropped: the request stays.
			edge.WaitTCPExtCounter("TCPDeferAcceptDrop", uint64(i))
			st = edge.WaitConnState(addr, edge.FDAddr(fd), "SYN_RECV", "NEW_SYN_RECV")
		} else {
			edge.WaitTCPExtCounter("SyncookiesRecv", 1)
			st = edge.WaitConnState(addr, edge.FDAddr(fd), "ESTABLISHED")
		}
		edge.Printf("%s: connected; server's side %s; SyncookiesSent +%d\n",
			name, st, edge.TCPExtCounter("SyncookiesSent")-sent)
		//tcpedges:end
	}
	q, _ := edge.ListenerQueue(addr)
	edge.Printf("server: accept queue %d; TCPReqQFullDoCookies %d, SyncookiesSent %d, SyncookiesRecv %d, ListenOverflows %d\n",
		q, edge.TCPExtCounter("TCPReqQFullDoCookies"), edge.TCPExtCounter("SyncookiesSent"), edge.TCPExtCounter("SyncookiesRecv"),
		edge.TCPExtCounter("ListenOverflows"))
	nfd, peer, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	edge.Check(err, "accept")
	defer unix.Close(nfd)
	edge.Printf("server: accept() = %s\n", ports[peer.(*unix.SockaddrInet4).Port])
}

// acceptQueueFull fills the accept queue of a listener that sends a
// cookie for every SYN, and connects once more.
func acceptQueueFull() {
	edge.Println("# tcp_syncookies=2, the accept queue is full")
	s := edge.NewScene()
	defer s.Close()
	lfd := socket()
	defer unix.Close(lfd)
	check(unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	// listen(fd, 0): room for one connection.
	check(unix.Listen(lfd, 0))
	addr := edge.FDAddr(lfd)
	s.Name(addr, "server2")
	server := &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}}
	edge.Println("server2: listen(fd, 0)")
	decided := edge.TCPExtCounter("TCPReqQFullDoCookies")
	sent, recv := edge.TCPExtCounter("SyncookiesSent"), edge.TCPExtCounter("SyncookiesRecv")
	overflows, drops := edge.TCPExtCounter("ListenOverflows"), edge.TCPExtCounter("ListenDrops")
	queued := uint32(0)
	for i := 4; i <= 5; i++ {
		name := fmt.Sprintf("client%d", i)
		fd := socket()
		edge.Printf("%s: connect()\n", name)
		err := unix.Connect(fd, server)
		if err != unix.EINPROGRESS {
			edge.Fatalf("%s: connect() = %s", name, edge.Ret(0, err))
		}
		s.NameConn(edge.FDAddr(fd), addr, name)
		//tcpedges:show
		// Wait for the listener's decision: queue it, or drop the SYN.
		q, _ := edge.WaitSYNOutcome(addr, queued, overflows)
		queued = q
		st, err := edge.FDState(fd)
		check(err)
		// TCPReqQFullDoCookies counts the SYNs tcp_conn_request
		// decided to answer with a cookie; only after that does it
		// look at the accept queue, and drop the SYN when it is full.
		counters := fmt.Sprintf("TCPReqQFullDoCookies +%d, SyncookiesSent +%d, SyncookiesRecv +%d, ListenOverflows +%d, ListenDrops +%d",
			edge.TCPExtCounter("TCPReqQFullDoCookies")-decided, edge.TCPExtCounter("SyncookiesSent")-sent, edge.TCPExtCounter("SyncookiesRecv")-recv,
			edge.TCPExtCounter("ListenOverflows")-overflows, edge.TCPExtCounter("ListenDrops")-drops)
		//tcpedges:end
		if st == "SYN_SENT" {
			// Close it before it sends its SYN again, a second after the
			// first: a socket closed in SYN_SENT sends nothing.
			unix.Close(fd)
		} else {
			defer unix.Close(fd)
		}
		edge.Printf("%s: %s; server2: accept queue %d\n", name, st, q)
		edge.Printf("  %s\n", counters)
	}
}

func socket() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket")
	return fd
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
