// Host-icmp-established proves that on an established connection an
// ICMP "host unreachable" is a soft error: the kernel notes it
// (sk_err_soft) and keeps retransmitting; poll shows no POLLERR and
// writes still succeed, though getsockopt(SO_ERROR) reads (and
// clears) the noted error. Only when the connection times out (here after
// TCP_USER_TIMEOUT, 500 ms) is the noted error returned: EHOSTUNREACH
// instead of ETIMEDOUT.
package main

import (
	"fmt"
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
	fmt.Println("connected")
	p.PrintSegments()

	fmt.Println("router: route to server: unreachable (RTN_UNREACHABLE)")
	lab.Router.RouteType(netip.PrefixFrom(lab.ServerAddr, 32), unix.RTN_UNREACHABLE)
	n, err := unix.Write(p.Client.FD, []byte("ping"))
	fmt.Printf("client: write() = %s\n", edge.Ret(n, err))
	// Wait until the client's kernel has counted the ICMP error;
	// the first retransmission is 200 ms away.
	edge.WaitInfo(p.Client.FD, time.Second, "the ICMP error", func(*unix.TCPInfo) bool {
		return lab.Client.Counter("IcmpInDestUnreachs") >= 1
	})
	p.PrintSegments()
	soerr, err := unix.GetsockoptInt(p.Client.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	fmt.Printf("client: SO_ERROR %s, poll: %s, state %s\n", unix.ErrnoName(unix.Errno(soerr)), edge.Events(p.Client.FD), p.Client.State())
	n, err = unix.Write(p.Client.FD, []byte("pong"))
	fmt.Printf("client: write() = %s\n", edge.Ret(n, err))

	// The retransmissions, each answered by an ICMP, go on until the
	// user timeout (not shown: their number depends on timing).
	edge.WaitInfo(p.Client.FD, 3*time.Second, "the user timeout",
		func(i *unix.TCPInfo) bool { return i.State == unix.BPF_TCP_CLOSE })
	n, err = unix.Read(p.Client.FD, make([]byte, 64))
	fmt.Printf("client: read() = %s\n", edge.Ret(n, err))
	fmt.Printf("  states: client %s\n", p.Client.State())
}

func check(err error) { edge.Check(err, "unexpected error") }
