// Backlog-abort-on-overflow proves that net.ipv4.tcp_abort_on_overflow
// does not reset a SYN: with it set to 1, a SYN that meets a full
// accept queue is still dropped in silence, and its client waits in
// SYN_SENT. The sysctl acts only when a handshake's last ACK meets the
// full queue (see rst-accept-overflow). It runs in a network namespace
// this program creates, where the sysctl is set.
package main

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	h := edge.NewHost("server")
	defer h.Close()
	h.Sysctl("net.ipv4.tcp_abort_on_overflow", "1")
	h.Do(func() {
		v, err := os.ReadFile("/proc/sys/net/ipv4/tcp_abort_on_overflow")
		check(err)
		edge.Printf("inside the host: net.ipv4.tcp_abort_on_overflow = %s\n", strings.TrimSpace(string(v)))
		s := edge.NewScene()
		defer s.Close()

		lfd := socket()
		defer unix.Close(lfd)
		check(unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
		check(unix.Listen(lfd, 0))
		addr := edge.FDAddr(lfd)
		s.Name(addr, "server")
		server := &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}}
		edge.Println("server: listen(fd, 0), and no accept()")

		//tcpedges:show
		// client1 fills the accept queue: listen(fd, 0) holds one.
		c1 := s.Dial("client1", addr)
		defer c1.Close()
		recvQ, _ := edge.ListenerQueue(addr)
		edge.Printf("client1: connected; server: accept queue %d, full\n", recvQ)

		// client2's SYN meets the full queue. tcp_conn_request drops
		// it (sk_acceptq_is_full) before any reset could be decided:
		// the sysctl is read only in tcp_check_req, for the last ACK.
		fd := socket()
		defer unix.Close(fd)
		dropped := edge.TCPExtCounter("ListenOverflows")
		err = unix.Connect(fd, server)
		s.NameConn(edge.FDAddr(fd), addr, "client2")
		edge.Printf("client2: connect() = %s\n", edge.Ret(0, err))
		_, d := edge.WaitSYNOutcome(addr, recvQ, dropped)
		edge.Printf("server: ListenOverflows +%d\n", d-dropped)
		st, err := edge.FDState(fd)
		check(err)
		edge.Printf("client2: %s, poll events %s\n", st, edge.Events(fd))
		s.PrintSegments()
		//tcpedges:end
	})
}

func socket() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	check(err)
	return fd
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
