// Host-no-route proves where ENETUNREACH ("network is unreachable")
// comes from. When the client itself has no route to the address,
// connect fails at once and sends nothing. When a router on the way
// has none, it answers the SYN with ICMP "net unreachable", and
// connect fails with the same error when an ICMP finds it waiting: here
// the second one, 1 s later, for the first comes back while connect
// still holds the socket's lock.
package main

import (
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

	//tcpedges:show
	edge.Println("client: no default route")
	lab.Client.DelRoute(everywhere)
	edge.Println("client: connect(server)")
	r := <-connect(lab, s, server)
	// ip_route_connect finds no route: no SYN is even made.
	edge.Printf("client: connect() = %s\n", edge.Ret(0, r.err))
	edge.Printf("client: it failed in less than 0.1 s: %v\n", r.took < 100*time.Millisecond)
	s.PrintSegments()

	edge.Println("client: default route via the router; router: no route to 198.51.100.0/24")
	lab.Client.AddRoute(everywhere, router)
	lab.Router.DelRoute(netip.MustParsePrefix("198.51.100.0/24"))
	edge.Println("client: connect(server)")
	done := connect(lab, s, server)
	// The router's ICMP net unreachable comes back at once: the SYN
	// and the ICMP cross the lab within the connect call, which holds
	// the socket's lock, so tcp_v4_err only notes the error
	// (sk_err_soft, counted in TcpExtLockDroppedIcmps). The SYN is
	// resent when its 1 s timer fires, and the next ICMP ends connect.
	s.WaitSegments(2, time.Second)
	s.GapSegments(time.Second, 2, 2*time.Second)
	r = <-done
	edge.Printf("client: connect() = %s\n", edge.Ret(0, r.err))
	//tcpedges:end
	edge.Printf("client: ICMP errors dropped under the socket's lock: %d\n", lab.Client.Counter("TcpExtLockDroppedIcmps"))
	edge.Printf("client: it failed after more than 0.9 s and less than 2 s: %v\n",
		r.took > 900*time.Millisecond && r.took < 2*time.Second)
}

// result is what a connect(2) returned, and how long the call took.
type result struct {
	err  error
	took time.Duration
}

// connect starts a blocking connect(2), as C makes it, on a socket of
// the client host; its result comes on the channel. It runs in a
// goroutine, so that the program can print the segments as they come.
// The time is the call's alone, not that of making the socket in the
// client's namespace, which a slow machine can make long.
func connect(lab *edge.Lab, s *edge.Scene, to netip.AddrPort) chan result {
	fd := lab.ClientSocket(s)
	done := make(chan result, 1)
	go func() {
		defer unix.Close(fd)
		start := time.Now()
		err := unix.Connect(fd, &unix.SockaddrInet4{Addr: to.Addr().As4(), Port: int(to.Port())})
		done <- result{err, time.Since(start)}
	}()
	return done
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
