// Host-unreachable proves what connect returns when a router on the
// way answers the SYN with ICMP "destination unreachable": EHOSTUNREACH
// ("no route to host"), as soon as the ICMP arrives. Here nobody has
// the address the client connects to, so the router's ARP requests go
// unanswered and it reports the host unreachable; a router told to
// reject (a "prohibit" route, what a firewall's reject rule does)
// answers at once.
package main

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 1s the router gives up on ARP after 100 ms, and a SYN noted as a soft error is resent after 1 s
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	s := lab.NewScene()
	defer s.Close()

	// The router asks for a neighbour's hardware address once
	// (mcast_solicit, 3 by default) and waits 100 ms for the answer
	// (retrans_time_ms, 1000 by default), then gives up and answers
	// what it queued for it with ICMP host unreachable
	// (arp_error_report): about 0.1 s here, 3 s by default.
	lab.Router.Sysctl("net.ipv4.neigh.eth1.mcast_solicit", "1")
	lab.Router.Sysctl("net.ipv4.neigh.eth1.retrans_time_ms", "100")
	nobody := netip.AddrPortFrom(netip.MustParseAddr("198.51.100.2"), 80)
	s.Name(net.TCPAddrFromAddrPort(nobody), "nobody")
	fmt.Println("client: connect to 198.51.100.2, an address no host has")
	err, elapsed := connect(lab, s, nobody)
	fmt.Printf("client: connect() = %s\n", edge.Ret(0, err))
	// A lost SYN is resent after 1 s: failing sooner means the first
	// SYN's answer decided.
	fmt.Printf("client: it failed after more than 0.1 s and less than 1 s: %v\n",
		elapsed > 100*time.Millisecond && elapsed < time.Second)
	s.PrintSegments()

	// Nothing delays this ICMP: it often comes back while connect is
	// still sending the SYN and holds the socket's lock. tcp_v4_err
	// then only notes it (sk_err_soft, counted as LockDroppedIcmps),
	// the SYN is resent after 1 s, and the next ICMP ends connect.
	// How many SYNs go out depends on that race: they are not shown.
	fmt.Println("router: route to server: prohibit (RTN_PROHIBIT)")
	lab.Router.RouteType(netip.PrefixFrom(lab.ServerAddr, 32), unix.RTN_PROHIBIT)
	server := netip.AddrPortFrom(lab.ServerAddr, 80)
	err, elapsed = connect(lab, s, server)
	fmt.Printf("client: connect() = %s\n", edge.Ret(0, err))
	fmt.Printf("client: it failed in less than 2 s: %v\n", elapsed < 2*time.Second)
}

// connect connects from the client host, as C does: a blocking
// connect(2) on a socket made there.
func connect(lab *edge.Lab, s *edge.Scene, to netip.AddrPort) (error, time.Duration) {
	fd := lab.ClientSocket(s)
	defer unix.Close(fd)
	start := time.Now()
	err := unix.Connect(fd, &unix.SockaddrInet4{Addr: to.Addr().As4(), Port: int(to.Port())})
	return err, time.Since(start)
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
