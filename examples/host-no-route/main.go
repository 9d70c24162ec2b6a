// Host-no-route proves where ENETUNREACH ("network is unreachable")
// comes from. When the client itself has no route to the address,
// connect fails at once and sends nothing. When a router on the way
// has none, it answers the SYN with ICMP "net unreachable", and
// connect fails with the same error when that ICMP arrives.
package main

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 1s the SYN that met the ICMP under the socket lock is resent after 1 s
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	s := lab.NewScene()
	defer s.Close()
	server := netip.AddrPortFrom(lab.ServerAddr, 80)
	s.Name(net.TCPAddrFromAddrPort(server), "server")
	everywhere := netip.MustParsePrefix("0.0.0.0/0")
	router := netip.MustParseAddr("192.0.2.254")

	fmt.Println("client: no default route")
	lab.Client.DelRoute(everywhere)
	err, elapsed := connect(lab, s, server)
	// ip_route_connect finds no route: no SYN is even made.
	fmt.Printf("client: connect() = %s\n", edge.Ret(0, err))
	fmt.Printf("client: it failed in less than 0.1 s: %v\n", elapsed < 100*time.Millisecond)
	s.PrintSegments()

	fmt.Println("client: default route via the router; router: no route to 198.51.100.0/24")
	lab.Client.AddRoute(everywhere, router)
	lab.Router.DelRoute(netip.MustParsePrefix("198.51.100.0/24"))
	err, elapsed = connect(lab, s, server)
	// The router's ICMP net unreachable comes back at once, often
	// while connect still holds the socket's lock: then the SYN is
	// resent after 1 s and the next ICMP decides (see
	// host-unreachable). The segments depend on that race and are
	// not shown.
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
