// Host-icmp-established proves that on an established connection an
// ICMP "host unreachable" is a soft error: the kernel notes it
// (sk_err_soft) and keeps retransmitting; poll shows no POLLERR and
// writes still succeed, though getsockopt(SO_ERROR) reads (and
// clears) the noted error. Only when the connection times out (here after
// TCP_USER_TIMEOUT, 500 ms) is the noted error returned: EHOSTUNREACH
// instead of ETIMEDOUT.
package main

import (
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 900ms TCP_USER_TIMEOUT 500 ms, counted from the first retransmission
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	p := lab.Pair()
	defer p.Close()
	check(unix.SetsockoptInt(p.Client.FD, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 500))
	edge.Println("connected")
	p.PrintSegments()

	//tcpedges:show
	edge.Println("router: route to server: unreachable (RTN_UNREACHABLE)")
	lab.Router.RouteType(netip.PrefixFrom(lab.ServerAddr, 32), unix.RTN_UNREACHABLE)
	edge.Println(`client: write("ping")`)
	n, err := unix.Write(p.Client.FD, []byte("ping"))
	// The segment and the router's ICMP error cross the lab within the
	// write call. What follows is not shown: the resends, each answered
	// by an ICMP (which reverts the timer's backoff, RFC 6069) until the
	// router sends at most one a second, come at times and in numbers
	// that depend on how fast this program runs.
	// The client's kernel notes the ICMP in sk_err_soft (tcp_v4_err),
	// and SO_ERROR reads it, taking it. Wait for it there, where it is
	// noted; look at the socket before printing anything, so that the
	// look comes before the first resend even on a busy machine.
	soerr := edge.WaitSOError(p.Client.FD, time.Second)
	info := edge.WaitInfo(p.Client.FD, 0, "", func(*unix.TCPInfo) bool { return true })
	state := p.Client.State()
	events := edge.Events(p.Client.FD)
	if info.Total_retrans > 0 {
		edge.Fatalf("the client had retransmitted before the program looked (a tail loss probe or the RTO): this machine ran it too slowly")
	}
	if state != "ESTABLISHED" {
		edge.Fatalf("the connection had timed out before the program looked: this machine ran it too slowly to show a soft error")
	}
	p.PrintSegmentsAndStop(2, time.Second)
	edge.Println("  (from here on, segments not shown)")
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	edge.Printf("client: SO_ERROR %s, poll: %s, state %s\n", unix.ErrnoName(soerr), events, state)
	icmps := lab.Client.Counter("IcmpInDestUnreachs")
	edge.Println(`client: write("pong")`)
	n, err = unix.Write(p.Client.FD, []byte("pong"))
	if err != nil && p.Client.State() == "CLOSED" {
		edge.Fatalf("the connection had timed out before the second write: this machine ran the program too slowly to show a soft error")
	}
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	// What the last read returns is the soft error noted last before
	// the timeout (tcp_write_err): SO_ERROR took the first, so wait
	// for another ICMP to note it again. The router sends 5 at once at
	// most, then one a second (ip_error: net.ipv4.route.error_burst
	// and error_cost, for the whole machine): if the program was too
	// slow, the connection may time out with none left, and the read
	// say ETIMEDOUT, another story. (That is ip_error's limit alone:
	// the lab's router limits no ICMP of its own, icmp_ratemask=0.
	// With icmp_ratelimit=0 instead, kernels before 6.14 sent one a
	// second from the first, and this story could not be told.)
	edge.WaitInfo(p.Client.FD, 3*time.Second, "another ICMP error, or the user timeout", func(i *unix.TCPInfo) bool {
		return lab.Client.Counter("IcmpInDestUnreachs") > icmps || i.State == unix.BPF_TCP_CLOSE
	})
	if lab.Client.Counter("IcmpInDestUnreachs") == icmps {
		edge.Fatalf("the connection timed out before another ICMP error came: the router sends only 5 at once (net.ipv4.route.error_burst), and this machine ran the program too slowly")
	}

	// The resends go on until the user timeout.
	edge.WaitInfo(p.Client.FD, 3*time.Second, "the user timeout",
		func(i *unix.TCPInfo) bool { return i.State == unix.BPF_TCP_CLOSE })
	n, err = unix.Read(p.Client.FD, make([]byte, 64))
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	//tcpedges:end
	edge.Printf("  states: client %s\n", p.Client.State())
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
