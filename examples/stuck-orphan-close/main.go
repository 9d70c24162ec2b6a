// Stuck-orphan-close proves that close() returns before the data is
// delivered: to a peer that has gone, the write and the close both
// succeed, and the socket, which no process holds any more (an orphan),
// stays in FIN_WAIT1 while the kernel retransmits the data.
// It ends after net.ipv4.tcp_orphan_retries (here 1, in the client's
// namespace; by default 0, which the kernel reads as 8: about 205 s),
// or after TCP_USER_TIMEOUT when the socket set one, with nothing sent
// and nobody told.
package main

import (
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 2100ms two orphans retransmitting: 1.4 s with tcp_orphan_retries=1, 0.7 s with TCP_USER_TIMEOUT 500 ms
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	// Only inside the client host. No tail loss probe (RFC 8985): with
	// two segments in flight it would resend the FIN a few
	// milliseconds after it, racing this program's own printing. The
	// retransmissions are then the retransmission timer's alone.
	lab.Client.Sysctl("net.ipv4.tcp_early_retrans", "0")
	// Nor does the kernel merge the FIN into the data it resends
	// (tcp_retrans_try_collapse): whether it did, [FP.] or [P.], varied
	// from run to run on a loaded machine here, with the capture slow to
	// read what it had taken. Without the merge, every resend is the
	// data alone, the segment at the head of the queue.
	lab.Client.Sysctl("net.ipv4.tcp_retrans_collapse", "0")
	p := lab.Pair()
	defer p.Close()
	// A second connection, whose socket sets a user timeout.
	ln := p.Listen("server2")
	defer ln.Close()
	client2 := p.Dial("client2", ln.Addr())
	defer client2.Close()
	check(unix.SetsockoptInt(client2.FD, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 500))
	edge.Println("connected: client, client2 (TCP_USER_TIMEOUT 500 ms)")
	edge.Println("the server host crashes")
	lab.Crash()

	edge.Println("# client: net.ipv4.tcp_orphan_retries = 1")
	lab.Client.Sysctl("net.ipv4.tcp_orphan_retries", "1")
	orphan(lab, p, p.Client, 0)

	edge.Println("# client2: TCP_USER_TIMEOUT 500 ms, net.ipv4.tcp_orphan_retries = 0 (the default)")
	lab.Client.Sysctl("net.ipv4.tcp_orphan_retries", "0")
	orphan(lab, p, client2, 500*time.Millisecond)
}

// orphan writes on c and closes it, and follows the orphan until the
// kernel frees it. userTimeout is the TCP_USER_TIMEOUT c has, if any.
func orphan(lab *edge.Lab, p *edge.Pair, c *edge.End, userTimeout time.Duration) {
	rto := edge.RTO(c.FD)
	aborts := lab.Client.Counter("TcpExtTCPAbortOnTimeout")

	//tcpedges:show
	// The write and the close, back to back, as a program that sends
	// its last words and hangs up; then what each caused, in order. (The
	// lines are printed after the calls, each after the segments its
	// call sent and before those the kernel's timers sent later, so that
	// the story is the same however late this program gets to print.)
	edge.Printf("%s: write(\"bye\")\n", c.Name)
	n, err := unix.Write(c.FD, []byte("bye"))
	start := time.Now()
	cerr := c.Close()
	took := time.Since(start)
	// The program holds no descriptor any more; sock_diag still sees
	// the socket. Send-Q counts what the peer has not acknowledged:
	// 3 bytes and the FIN, which takes a sequence number.
	s := c.Diag()
	if s == nil {
		edge.Fatalf("the orphan had gone before the program looked: this machine ran it too slowly")
	}
	p.PrintAfter(1, time.Second, "%s: write() = %s\n", c.Name, edge.Ret(n, err))
	p.PrintAfter(0, 0, "%s: conn.Close()\n", c.Name)
	p.PrintAfter(1, time.Second, "%s: conn.Close() = %s, before any retransmission: %v\n", c.Name, edge.Describe(cerr), took < rto)
	p.PrintAfter(0, 0, "%s (orphan): %s, Send-Q %d, %s\n", c.Name, edge.StateName(s.State), s.WQueue, timer(s))
	// The retransmission timer fires after the RTO (0.2 s on this
	// wire), doubling it each time (tcp_retransmit_timer).
	p.PrintTimed([]time.Duration{rto, rto << 1}, 2*time.Second)
	// When the timer fires next, tcp_write_timeout finds the orphan
	// expired: for an orphan, tcp_orphan_retries takes the place of
	// tcp_retries2 (0 counts as 8), and TCP_USER_TIMEOUT, counted from
	// the first retransmission, the place of both. tcp_write_err frees
	// it, sends nothing, and counts it in TcpExt.TCPAbortOnTimeout. A
	// user timeout makes the timer fire when it runs out
	// (tcp_clamp_rto_to_user_timeout): 0.1 s after the second
	// retransmission here.
	next := rto << 2
	if userTimeout > 0 {
		next = userTimeout - rto<<1
	}
	edge.Gap(next)
	c.WaitDiag(3*time.Second, "the orphan to be freed", func(s *netlink.Socket) bool { return s == nil })
	elapsed := time.Since(start)
	edge.Printf("%s: the kernel has freed the orphan: %s; TCPAbortOnTimeout +%d\n",
		c.Name, c.State(), lab.Client.Counter("TcpExtTCPAbortOnTimeout")-aborts)
	//tcpedges:end
	// The timeline above, checked against the clock: freed at its end.
	want := rto + rto<<1 + next
	// The upper bound leaves a busy machine time to look.
	lo, hi := want-100*time.Millisecond, want+time.Second
	edge.Printf("%s: freed more than %.1f s and less than %.1f s after close: %v\n",
		c.Name, lo.Seconds(), hi.Seconds(), elapsed > lo && elapsed < hi)
}

// timer names the timer sock_diag reports for a socket (idiag_timer).
func timer(s *netlink.Socket) string {
	if s.Timer == 1 {
		return "retransmission timer"
	}
	return "timer " + string('0'+rune(s.Timer))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
