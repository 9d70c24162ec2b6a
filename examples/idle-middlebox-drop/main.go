// Idle-middlebox-drop proves what happens to a connection that stays
// idle longer than a stateful firewall on its path remembers it: the
// firewall forgets the flow, drops the next segment as belonging to
// nothing it knows, and the sender retransmits into that black hole
// until it gives up with ETIMEDOUT. Neither end was told anything. The
// firewall is the lab's router with conntrack and nftables, forgetting
// an established flow after 2 s of silence (5 days is conntrack's
// default; cloud firewalls and load balancers forget after minutes).
package main

import (
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 3650ms the router's conntrack forgets an idle flow after 2 s; then tcp_retries2=1 in the client (RTO 0.2 s doubling, after a tail loss probe)
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	// Only inside the client host: the machine's own stays at 15.
	lab.Client.Sysctl("net.ipv4.tcp_retries2", "1")
	//tcpedges:show
	const timeout = 2 * time.Second
	edge.Println("router: stateful firewall, forgets a flow idle for 2 s, drops what it does not know")
	mb := lab.NewMiddlebox(timeout, edge.Drop)
	defer mb.Close()
	start := time.Now() // the handshake: the entry's 2 s start after it
	p := lab.Pair()
	defer p.Close()
	edge.Printf("router: conntrack entry of client > server: %s\n", lookedInTime(mb.Flow(p.Client), start, timeout))
	received := segsIn(p.Server)

	// Nothing is sent while the connection is idle; the router's entry
	// times out 2 s after the last segment it saw, the handshake's ACK.
	mb.WaitForgotten(p.Client, 2*timeout)
	edge.Gap(timeout)
	edge.Printf("router: conntrack entry of client > server: %s\n", mb.Flow(p.Client))
	//tcpedges:end
	forgotten := time.Since(start)

	//tcpedges:show
	// The RTO before anything is lost: 200 ms (TCP_RTO_MIN, RFC 6298
	// 2.4 rounds up to 1 s) on a path of microseconds.
	info, err := unix.GetsockoptTCPInfo(p.Client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	check(err)
	rto0, rtoUs := rto(info), info.Rto
	edge.Println(`client: write("ping")`)
	n, err := unix.Write(p.Client.FD, []byte("ping"))
	// The router drops the segment and each resend, as when the
	// server host crashes (chapter 6): a tail loss probe (RFC 8985)
	// and the first retransmission, an RTO (200 ms) apart, then the
	// second after the doubled RTO, until tcp_retries2 says give up
	// when the timer fires next. The program prints them once the
	// connection is closed, with the pauses of that schedule, so that
	// they do not depend on when it gets to look.
	info = edge.WaitInfo(p.Client.FD, 10*time.Second, "the timeout", closed)
	// The kernel's own record of the schedule: three resends (the
	// probe and two retransmissions), the RTO doubled twice (exactly:
	// no answer came to measure the path again).
	if info.Total_retrans != 3 || info.Rto != 4*rtoUs {
		edge.Fatalf("the client resent %d times, its RTO went from %v to %v: not 3 resends, doubled twice",
			info.Total_retrans, rto0, rto(info))
	}
	resent := func(seg string) bool { return strings.HasPrefix(seg, "client > server: Flags [P.]") }
	p.PrintPausedAfter(1, "client: write() = "+edge.Ret(n, err), resent, rto0, rto0, 2*rto0)
	edge.Gap(4 * rto0) // the RTO doubled twice, as checked
	_, err = p.Client.Read(make([]byte, 64))
	edge.Printf("client: conn.Read: %s\n", p.Describe(err))
	edge.Printf("router: segments dropped as belonging to no flow: %d\n", mb.Forgotten())
	edge.Printf("server: segments received since the handshake: %d; state %s\n",
		segsIn(p.Server)-received, p.Server.State())
	//tcpedges:end
	// Not an upper bound: a program starved of CPU can look late.
	edge.Printf("router: it forgot the flow more than 1.5 s after the handshake: %v\n",
		forgotten > 1500*time.Millisecond)
}

// lookedInTime returns the router's first answer about the flow, and
// ends the program if the answer was "none" after the flow's timeout
// could have passed: a program too slow to look, not the router.
func lookedInTime(flow string, start time.Time, timeout time.Duration) string {
	if flow == "none" && time.Since(start) >= timeout {
		edge.Fatalf("the program looked at the router's conntrack table %v after the handshake began, when the flow may have timed out already: this machine ran it too slowly",
			time.Since(start).Round(time.Millisecond))
	}
	return flow
}

// rto is the retransmission timeout TCP_INFO reports, to 0.1 s.
func rto(i *unix.TCPInfo) time.Duration {
	return (time.Duration(i.Rto) * time.Microsecond).Round(100 * time.Millisecond)
}

func closed(i *unix.TCPInfo) bool { return i.State == unix.BPF_TCP_CLOSE }

// segsIn is the number of segments the socket received (tcpi_segs_in).
func segsIn(e *edge.End) int {
	info, err := unix.GetsockoptTCPInfo(e.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	check(err)
	return int(info.Segs_in)
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
