// Host-crash-idle-keepalive proves that when the peer host crashes
// while a connection is idle, a blocked read never finds out: nothing
// is sent, so nothing can fail. Keepalive is what finds the dead peer:
// with idle 1 s, interval 1 s and 2 probes, the read fails with
// ETIMEDOUT after 1 + 2×1 = 3 s. It also shows Go's default keepalive
// for dialed and accepted connections.
package main

import (
	"net"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 3s keepalive: 1 s idle, then 2 probes 1 s apart (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT)
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	s := lab.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()

	// A zero net.Dialer, and net.Listen's accepted connections,
	// turn keepalive on with Go's defaults.
	edge.Println("client: dial with a zero net.Dialer; server: accept")
	var plain net.Dialer
	client := s.End("client", dial(lab, plain, ln.Addr()))
	server := s.Accept(ln, "server")
	edge.Println("Go's defaults:")
	printKeepalive(client)
	printKeepalive(server)
	// Go's 15 s default would only fire after this program ends:
	// turn it off on the first connection, to show a read without
	// keepalive.
	edge.Println("client: keepalive off")
	check(client.SetKeepAlive(false))

	//tcpedges:show
	// net.KeepAliveConfig sets the same four options, in whole
	// seconds: setsockopt(SO_KEEPALIVE, 1), (TCP_KEEPIDLE, 1),
	// (TCP_KEEPINTVL, 1), (TCP_KEEPCNT, 2).
	short := net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: time.Second, Interval: time.Second, Count: 2,
	}}
	edge.Println("client2: dial with net.KeepAliveConfig{Idle: 1s, Interval: 1s, Count: 2}")
	probed := s.End("client2", dial(lab, short, ln.Addr()))
	s.Accept(ln, "server")
	idle, intvl := printKeepalive(probed)

	edge.Println("client, client2: conn.Read() (nothing to read: it blocks)")
	reads := map[string]chan error{"client": read(client), "client2": read(probed)}
	edge.Println("the server host crashes")
	lab.Crash()
	start := time.Now()

	// TCP_KEEPIDLE counts from the last segment client2 received, its
	// SYN-ACK, a moment ago. Each probe is an ACK that repeats our
	// last byte already acked (seq snd_una−1, RFC 1122 4.2.3.6): below
	// a live peer's window, so it answers with an ACK (RFC 9293
	// 3.10.7.4). No answer to TCP_KEEPCNT probes:
	// tcp_keepalive_timer sends an RST and ends the connection with
	// ETIMEDOUT.
	s.GapSegments(idle, 1, 2*time.Second)
	s.GapSegments(intvl, 1, 2*time.Second)
	s.GapSegments(intvl, 1, 2*time.Second)
	var err error
	select {
	case err = <-reads["client2"]:
	case <-time.After(10 * time.Second):
		edge.Fatalf("client2's read did not fail within 10 s")
	}
	elapsed := time.Since(start)
	edge.Printf("client2: conn.Read: %s\n", s.Describe(err))
	//tcpedges:end
	edge.Printf("client2: it failed after more than 2 s and less than 5 s: %v\n",
		elapsed > 2*time.Second && elapsed < 5*time.Second)
	select {
	case err = <-reads["client"]:
		edge.Printf("client: conn.Read returned: %s\n", s.Describe(err))
	default:
		edge.Println("client: conn.Read is still blocked, and nothing was sent")
	}
	edge.Printf("  states: client %s, client2 %s\n", client.State(), probed.State())
}

// dial connects from the client host with the dialer d.
func dial(lab *edge.Lab, d net.Dialer, addr net.Addr) *net.TCPConn {
	var c net.Conn
	lab.Client.Do(func() {
		var err error
		c, err = d.Dial("tcp", addr.String())
		edge.Check(err, "connect")
	})
	return c.(*net.TCPConn)
}

// printKeepalive prints what the kernel says the socket's keepalive
// is, and returns its idle time and interval.
func printKeepalive(e *edge.End) (idle, interval time.Duration) {
	get := func(level, opt int) int {
		v, err := unix.GetsockoptInt(e.FD, level, opt)
		check(err)
		return v
	}
	on := get(unix.SOL_SOCKET, unix.SO_KEEPALIVE)
	idleS := get(unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
	intvlS := get(unix.IPPROTO_TCP, unix.TCP_KEEPINTVL)
	cnt := get(unix.IPPROTO_TCP, unix.TCP_KEEPCNT)
	edge.Printf("  %s: SO_KEEPALIVE %d, TCP_KEEPIDLE %d s, TCP_KEEPINTVL %d s, TCP_KEEPCNT %d: a dead peer found after %d s\n",
		e.Name, on, idleS, intvlS, cnt, idleS+intvlS*cnt)
	return time.Duration(idleS) * time.Second, time.Duration(intvlS) * time.Second
}

// read starts a blocking conn.Read and reports its error.
func read(e *edge.End) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := e.Read(make([]byte, 64))
		done <- err
	}()
	return done
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
