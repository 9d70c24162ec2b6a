// Host-black-hole proves what connect does when its SYNs vanish
// without an answer, neither SYN-ACK, nor RST, nor ICMP: it resends
// the SYN, then fails with ETIMEDOUT. How long that takes is set by
// net.ipv4.tcp_syn_retries (6 by default: about 2 minutes), here 1 in
// the client's namespace: 3 s.
package main

import (
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
	edge.Println("router: route to server: blackhole (RTN_BLACKHOLE)")
	lab.Router.RouteType(netip.PrefixFrom(lab.ServerAddr, 32), unix.RTN_BLACKHOLE)

	//tcpedges:show
	// A blocking connect(2), as C makes it, in a goroutine: the program
	// prints each SYN as it goes out, and the time to the next.
	fd := lab.ClientSocket(s)
	defer unix.Close(fd)
	edge.Println("client: connect(server)")
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		done <- unix.Connect(fd, &unix.SockaddrInet4{Addr: server.Addr().As4(), Port: int(server.Port())})
	}()
	// The SYN, then one resent each time the timer fires: tcpi_rto
	// stays at the initial 1 s, for the first
	// net.ipv4.tcp_syn_linear_timeouts (4) resends do not double it.
	s.WaitSegments(1, time.Second)
	for range 2 {
		s.GapSegments(rto(fd), 1, 2*time.Second)
	}
	edge.Gap(rto(fd))
	err := <-done
	elapsed := time.Since(start)
	edge.Printf("client: connect() = %s\n", edge.Ret(0, err))
	//tcpedges:end
	edge.Printf("client: it failed after more than 2.5 s and less than 4.5 s: %v\n",
		elapsed > 2500*time.Millisecond && elapsed < 4500*time.Millisecond)
}

// rto is the socket's retransmission timeout, from TCP_INFO, to 0.1 s.
func rto(fd int) time.Duration {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	check(err)
	return time.Duration(info.Rto) * time.Microsecond / (100 * time.Millisecond) * (100 * time.Millisecond)
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
