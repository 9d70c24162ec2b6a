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
	p.PrintSegmentsAndStop(2, time.Second)
	edge.Println("  (from here on, segments not shown)")
	// Wait until the client's kernel has counted the ICMP error.
	edge.WaitInfo(p.Client.FD, time.Second, "the ICMP error", func(*unix.TCPInfo) bool {
		return lab.Client.Counter("IcmpInDestUnreachs") >= 1
	})
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	soerr, err := unix.GetsockoptInt(p.Client.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	edge.Printf("client: SO_ERROR %s, poll: %s, state %s\n", unix.ErrnoName(unix.Errno(soerr)), edge.Events(p.Client.FD), p.Client.State())
	edge.Println(`client: write("pong")`)
	n, err = unix.Write(p.Client.FD, []byte("pong"))
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))

	// The resends go on until the user timeout.
	edge.WaitInfo(p.Client.FD, 3*time.Second, "the user timeout",
		func(i *unix.TCPInfo) bool { return i.State == unix.BPF_TCP_CLOSE })
	n, err = unix.Read(p.Client.FD, make([]byte, 64))
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	//tcpedges:end
	edge.Printf("  states: client %s\n", p.Client.State())
}

func check(err error) { edge.Check(err, "unexpected error") }
