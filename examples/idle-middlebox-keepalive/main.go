// Idle-middlebox-keepalive proves the fix for a middlebox that forgets
// idle flows: TCP keepalive with an idle time below the middlebox's
// timeout. Each probe and its answer cross the middlebox, which then
// remembers the flow again for its whole timeout: after more than the
// timeout without data, the connection with keepalive is still tracked
// and carries data, while one without it (Go's default keepalive, 15 s,
// is longer than this middlebox's 2 s) has been forgotten.
package main

import (
	"net"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 3s keepalive: 3 probes 1 s apart (TCP_KEEPIDLE, TCP_KEEPINTVL), past the router's 2 s conntrack timeout
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	const timeout = 2 * time.Second
	edge.Println("router: stateful firewall, forgets a flow idle for 2 s, drops what it does not know")
	mb := lab.NewMiddlebox(timeout, edge.Drop)
	defer mb.Close()
	s := lab.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()

	edge.Println("# without keepalive below the router's timeout")
	edge.Println("client2: dial with a zero net.Dialer (Go's default keepalive: 15 s idle)")
	var plain net.Dialer
	other := s.End("client2", dial(lab, plain, ln.Addr()))
	defer other.Close()
	server2 := s.Accept(ln, "server")
	defer server2.Close()
	s.PrintSegments()

	//tcpedges:show
	// The same four options as chapter 6: SO_KEEPALIVE 1,
	// TCP_KEEPIDLE 1 s, TCP_KEEPINTVL 1 s, TCP_KEEPCNT 3. An idle time
	// below the middlebox's timeout is what matters.
	short := net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		Enable: true, Idle: time.Second, Interval: time.Second, Count: 3,
	}}
	edge.Println("# with keepalive below the router's timeout")
	edge.Println("client: dial with net.KeepAliveConfig{Idle: 1s, Interval: 1s, Count: 3}")
	client := s.End("client", dial(lab, short, ln.Addr()))
	defer client.Close()
	server := s.Accept(ln, "server")
	defer server.Close()

	// Three probes, each answered by the server: each one, and its
	// answer, refresh the router's conntrack entry for 2 s more. The
	// program waits for the third answer, then prints the handshake
	// and the probes with the keepalive interval before each probe,
	// and no segment after them: the probes go on every second, and
	// how many more a late program would see depends on when it looks.
	edge.WaitInfo(client.FD, 5*time.Second, "three answered probes", func(i *unix.TCPInfo) bool {
		return i.Segs_in >= 1+3 // the SYN-ACK, then three answers
	})
	acks := 0
	probe := func(seg string) bool {
		if seg != "client > server: Flags [.], ack 1, length 0" {
			return false
		}
		acks++
		return acks > 1 // the first is the handshake's ACK
	}
	s.PrintPausedAndStop(3+3*2, 5*time.Second, probe, time.Second, time.Second, time.Second)
	edge.Println("  (from here on, segments not shown)")
	edge.Println("after 3 s without data, more than the router's 2 s:")
	edge.Printf("router: conntrack entry of client > server: %s\n", mb.Flow(client))
	edge.Printf("router: conntrack entry of client2 > server: %s\n", mb.Flow(other))

	edge.Println(`client: write("ping")`)
	_, err := client.Write([]byte("ping"))
	check(err)
	buf := make([]byte, 64)
	n, err := server.Read(buf)
	check(err)
	edge.WaitAcked(client.FD)
	edge.Printf("server: conn.Read = %q\n", buf[:n])
	edge.Printf("router: segments dropped as belonging to no flow: %d\n", mb.Forgotten())
	//tcpedges:end
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

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
