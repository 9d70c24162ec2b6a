// Host-unreachable proves what connect returns when a router on the
// way answers the SYN with ICMP "destination unreachable": EHOSTUNREACH
// ("no route to host"), when the ICMP finds connect waiting. A router
// told to reject (a "prohibit" route, as a firewall's reject rule
// sends when told to) answers at once, so fast that its first answer comes back while
// connect still holds the socket's lock and is only noted: the SYN
// resent 1 s later gets the answer that ends connect. Where nobody has
// the address the client connects to, the router's ARP requests go
// unanswered and it reports the host unreachable after them.
package main

import (
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
	server := netip.AddrPortFrom(lab.ServerAddr, 80)
	s.Name(net.TCPAddrFromAddrPort(server), "server")

	//tcpedges:show
	edge.Println("router: route to server: prohibit (RTN_PROHIBIT)")
	lab.Router.RouteType(netip.PrefixFrom(lab.ServerAddr, 32), unix.RTN_PROHIBIT)
	edge.Println("client: connect(server)")
	start := time.Now()
	done := connect(lab, s, server)
	// The SYN and the router's ICMP cross the lab within the connect
	// call, which holds the socket's lock: tcp_v4_err only notes the
	// error (sk_err_soft, counted in TcpExtLockDroppedIcmps). The SYN
	// is resent when its 1 s timer fires, and the next ICMP ends
	// connect.
	s.WaitSegments(2, time.Second)
	s.GapSegments(time.Second, 2, 2*time.Second)
	err := <-done
	edge.Printf("client: connect() = %s\n", edge.Ret(0, err))
	edge.Printf("client: ICMP errors dropped under the socket's lock: %d\n", lab.Client.Counter("TcpExtLockDroppedIcmps"))
	//tcpedges:end
	elapsed := time.Since(start)
	edge.Printf("client: it failed after more than 0.9 s and less than 2 s: %v\n",
		elapsed > 900*time.Millisecond && elapsed < 2*time.Second)

	// The router asks for a neighbour's hardware address once
	// (mcast_solicit, 3 by default) and waits 100 ms for the answer
	// (retrans_time_ms, 1000 by default), then gives up and answers
	// what it queued for it with ICMP host unreachable
	// (arp_error_report): 0.1 s here, 3 s by default.
	lab.Router.Sysctl("net.ipv4.neigh.eth1.mcast_solicit", "1")
	lab.Router.Sysctl("net.ipv4.neigh.eth1.retrans_time_ms", "100")
	nobody := netip.AddrPortFrom(netip.MustParseAddr("198.51.100.2"), 80)
	s.Name(net.TCPAddrFromAddrPort(nobody), "nobody")
	edge.Println("client: connect to 198.51.100.2, an address no host has")
	start = time.Now()
	done = connect(lab, s, nobody)
	s.WaitSegments(1, time.Second)
	s.GapSegments(100*time.Millisecond, 1, time.Second)
	err = <-done
	edge.Printf("client: connect() = %s\n", edge.Ret(0, err))
	// A lost SYN is resent after 1 s: failing sooner means the first
	// SYN's answer decided.
	elapsed = time.Since(start)
	edge.Printf("client: it failed after more than 0.1 s and less than 1 s: %v\n",
		elapsed > 100*time.Millisecond && elapsed < time.Second)
}

// connect starts a blocking connect(2), as C makes it, on a socket of
// the client host; the error comes on the channel. It runs in a
// goroutine, so that the program can print the segments as they come.
func connect(lab *edge.Lab, s *edge.Scene, to netip.AddrPort) chan error {
	fd := lab.ClientSocket(s)
	done := make(chan error, 1)
	go func() {
		defer unix.Close(fd)
		done <- unix.Connect(fd, &unix.SockaddrInet4{Addr: to.Addr().As4(), Port: int(to.Port())})
	}()
	return done
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
