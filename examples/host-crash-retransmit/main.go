// Host-crash-retransmit proves what happens to data we send to a host
// that has crashed: the kernel retransmits it with a retransmission
// timeout (RTO) that doubles each time, and gives up with ETIMEDOUT
// only after net.ipv4.tcp_retries2 — about 15 minutes by default,
// under 2 s here where the client's namespace sets it to 1 — or after
// TCP_USER_TIMEOUT, when the socket sets one.
package main

import (
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 1650ms retransmissions: tcp_retries2=1 in the client (RTO 0.2 s doubling, after a tail loss probe)
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	// Only inside the client host: the machine's own stays at 15.
	lab.Client.Sysctl("net.ipv4.tcp_retries2", "1")
	p := lab.Pair()
	defer p.Close()
	// A second connection, with a user timeout of 500 ms. Its segments
	// are not shown: it is named "".
	ln := p.Listen("server")
	defer ln.Close()
	timed := p.Dial("", ln.Addr())
	check(unix.SetsockoptInt(timed.FD, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 500))
	edge.Println("connected")
	p.PrintSegments()

	//tcpedges:show
	edge.Println("the server host crashes")
	lab.Crash()
	start := time.Now()
	n, err := unix.Write(timed.FD, []byte("ping"))
	edge.Printf("client (TCP_USER_TIMEOUT 500 ms): write(\"ping\") = %s\n", edge.Ret(n, err))
	timedOut := make(chan time.Duration, 1)
	go func() {
		edge.WaitInfo(timed.FD, 5*time.Second, "the user timeout", closed)
		timedOut <- time.Since(start)
	}()
	edge.Println(`client: write("ping")`)
	n, err = unix.Write(p.Client.FD, []byte("ping"))
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))

	// The first resend is a tail loss probe (RFC 8985), sent when the
	// probe timeout expires: 2 round trips plus TCP_RTO_MIN, at most
	// the RTO, so the RTO here. It counts in tcpi_total_retrans, not in
	// tcpi_retransmits. The RTO timer, armed again as the probe goes,
	// fires after the same RTO.
	info, err := unix.GetsockoptTCPInfo(p.Client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	check(err)
	p.GapSegments(rto(info), 1, time.Second)
	p.GapSegments(rto(info), 1, time.Second)
	// Each time the retransmission timer fires, the kernel sends the
	// data again, counts it in tcpi_retransmits and doubles the RTO
	// (tcp_retransmit_timer). The RTO starts at 200 ms (TCP_RTO_MIN:
	// on this wire the round trip is microseconds); TCP_INFO gives it
	// in µs, which we round to 0.1 s.
	for k := 1; k <= 2; k++ {
		info = edge.WaitInfo(p.Client.FD, 5*time.Second, "a retransmission",
			func(i *unix.TCPInfo) bool { return int(i.Retransmits) >= k })
		edge.Printf("client: retransmission %d, tcpi_backoff %d, next RTO %.1f s\n",
			info.Retransmits, info.Backoff, rto(info).Seconds())
		if k < 2 {
			p.GapSegments(rto(info), 1, 2*time.Second)
		}
	}
	// When the timer fires next, tcp_write_timeout finds the time since
	// the first retransmission over tcp_retries2's model time: the
	// kernel gives up, and sends nothing.
	edge.Gap(rto(info))
	edge.WaitInfo(p.Client.FD, 5*time.Second, "the timeout", closed)
	elapsed := time.Since(start)
	_, err = p.Client.Read(make([]byte, 64))
	edge.Printf("client: conn.Read: %s\n", p.Describe(err))
	//tcpedges:end
	edge.Printf("client: gave up after more than 1.2 s and less than 4 s: %v\n",
		elapsed > 1200*time.Millisecond && elapsed < 4*time.Second)
	edge.Printf("client: tail loss probes sent, on both connections: %d\n", lab.Client.Counter("TcpExtTCPLossProbes"))
	p.PrintStates()

	// The connection with a user timeout gave up earlier, after its
	// first retransmission and 500 ms: its segments are not shown.
	elapsed = <-timedOut
	edge.Printf("client (TCP_USER_TIMEOUT 500 ms): had given up after more than 0.5 s and less than 1.5 s: %v\n",
		elapsed > 500*time.Millisecond && elapsed < 1500*time.Millisecond)
	n, err = unix.Read(timed.FD, make([]byte, 64))
	edge.Printf("client (TCP_USER_TIMEOUT 500 ms): read() = %s\n", edge.Ret(n, err))
}

// rto is the retransmission timeout TCP_INFO reports, to 0.1 s.
func rto(i *unix.TCPInfo) time.Duration {
	return (time.Duration(i.Rto) * time.Microsecond).Round(100 * time.Millisecond)
}

func closed(i *unix.TCPInfo) bool { return i.State == unix.BPF_TCP_CLOSE }

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
