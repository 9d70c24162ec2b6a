// Host-black-hole proves what connect does when its SYNs vanish
// without an answer, neither SYN-ACK, nor RST, nor ICMP: it resends
// the SYN, then fails with ETIMEDOUT. How long that takes is set by
// net.ipv4.tcp_syn_retries (6 by default: about 2 minutes), here 1 in
// the client's namespace: 3 s.
package main

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 3s SYN retries: tcp_syn_retries=1 in the client, linear 1 s timeouts
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	s := lab.NewScene()
	defer s.Close()
	server := netip.AddrPortFrom(lab.ServerAddr, 80)
	s.Name(net.TCPAddrFromAddrPort(server), "server")

	// Only inside the client host: the machine's own stays at 6.
	lab.Client.Sysctl("net.ipv4.tcp_syn_retries", "1")
	fmt.Println("router: route to server: blackhole (RTN_BLACKHOLE)")
	lab.Router.RouteType(netip.PrefixFrom(lab.ServerAddr, 32), unix.RTN_BLACKHOLE)
	err, elapsed := connect(lab, s, server)
	fmt.Printf("client: connect() = %s\n", edge.Ret(0, err))
	fmt.Printf("client: it failed after more than 2.5 s and less than 4.5 s: %v\n",
		elapsed > 2500*time.Millisecond && elapsed < 4500*time.Millisecond)
	s.PrintSegments()
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
