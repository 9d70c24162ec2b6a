// Stuck-orphan-linger proves what SO_LINGER with a positive timeout
// does when the peer has gone: close() blocks for the linger time while
// the kernel retransmits, then returns 0, as if all went well. The
// connection is not reset: the socket becomes an orphan in FIN_WAIT1
// and goes on retransmitting until net.ipv4.tcp_orphan_retries (here
// 1, in the client's namespace) ends it, sending nothing.
package main

import (
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 1400ms retransmissions: SO_LINGER 1 s, then tcp_orphan_retries=1 in the client (RTO 0.2 s doubling)
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	// Only inside the client host: no tail loss probe, as in
	// stuck-orphan-close, and an orphan gives up after one retry.
	lab.Client.Sysctl("net.ipv4.tcp_early_retrans", "0")
	// Nor does the kernel merge the FIN into the data it resends
	// (tcp_retrans_try_collapse): whether it did, [FP.] or [P.], varied
	// from run to run on a loaded machine here, with the capture slow to
	// read what it had taken. Without the merge, every resend is the
	// data alone, the segment at the head of the queue.
	lab.Client.Sysctl("net.ipv4.tcp_retrans_collapse", "0")
	lab.Client.Sysctl("net.ipv4.tcp_orphan_retries", "1")
	p := lab.Pair()
	defer p.Close()
	const linger = 1 // seconds
	check(p.Client.SetLinger(linger))
	l, err := unix.GetsockoptLinger(p.Client.FD, unix.SOL_SOCKET, unix.SO_LINGER)
	check(err)
	edge.Println("connected; client: net.ipv4.tcp_orphan_retries = 1")
	edge.Printf("client: SO_LINGER {l_onoff %d, l_linger %d}\n", l.Onoff, l.Linger)
	edge.Println("the server host crashes")
	lab.Crash()
	rto := edge.RTO(p.Client.FD)
	aborts := lab.Client.Counter("TcpExtTCPAbortOnTimeout")

	//tcpedges:show
	edge.Println(`client: write("bye")`)
	// The write, and at once the close, in a goroutine: what it
	// returned, when, and what sock_diag saw right after. The lines
	// below are printed after the calls, each after the segments its
	// call sent, so that the story is the same however late this
	// program gets to print.
	n, err := unix.Write(p.Client.FD, []byte("bye"))
	start := time.Now()
	type result struct {
		err  error
		took time.Duration
		diag *netlink.Socket
	}
	closed := make(chan result, 1)
	go func() {
		// tcp_close sends the FIN, then waits in sk_stream_wait_close
		// until the FIN is acknowledged or the linger time has passed.
		err := p.Client.Close()
		took := time.Since(start)
		closed <- result{err, took, p.Client.Diag()}
	}()
	p.PrintAfter(1, time.Second, "client: write() = %s\n", edge.Ret(n, err))
	p.PrintAfter(0, 0, "client: conn.Close()\n")
	// The FIN, then the retransmissions, the RTO doubling each time.
	p.PrintTimed([]time.Duration{0, rto, rto << 1}, 2*time.Second)
	// The linger time ends 1 s after the FIN: 0.4 s after the second
	// retransmission.
	edge.Gap(linger*time.Second - rto - rto<<1)
	r := <-closed
	edge.Printf("client: conn.Close() = %s\n", edge.Describe(r.err))
	// No RST: after the wait, tcp_close goes on as without SO_LINGER,
	// and leaves an orphan.
	s := r.diag
	if s == nil {
		edge.Fatalf("the orphan had gone when close returned: this machine ran the program too slowly")
	}
	edge.Printf("client (orphan): %s, Send-Q %d, retransmissions %d\n", edge.StateName(s.State), s.WQueue, s.Retrans)
	// The next retransmission was due 0.8 s after the second one, 0.4 s
	// from now; tcp_orphan_retries=1 ends the orphan then instead.
	edge.Gap(rto<<2 - (linger*time.Second - rto - rto<<1))
	p.Client.WaitDiag(3*time.Second, "the orphan to be freed", func(s *netlink.Socket) bool { return s == nil })
	elapsed := time.Since(start)
	edge.Printf("client: the kernel has freed the orphan: %s; TCPAbortOnTimeout +%d\n",
		p.Client.State(), lab.Client.Counter("TcpExtTCPAbortOnTimeout")-aborts)
	//tcpedges:end
	edge.Printf("client: close() returned after more than 1 s and less than 1.3 s: %v\n",
		r.took >= linger*time.Second && r.took < linger*time.Second+300*time.Millisecond)
	// The upper bound leaves a busy machine time to look.
	edge.Printf("client: freed more than 1.3 s and less than 2.4 s after close: %v\n",
		elapsed > 1300*time.Millisecond && elapsed < 2400*time.Millisecond)
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
