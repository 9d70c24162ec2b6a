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

//tcpedges:wait 3s SYN retries: tcp_syn_retries=1 in the client, a model time of 3 s
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
	// The SYN, then one resent each time the timer fires, until the
	// timer finds the time the SYN retries allow spent and connect
	// fails: each step waits for what the kernel did (TCP_INFO: one
	// more retransmission, or the socket closed), and prints the
	// timer's interval before it, tcpi_rto. Since Linux 6.5 the first
	// net.ipv4.tcp_syn_linear_timeouts (4) resends do not double it:
	// 1 s each time.
	s.WaitSegments(1, time.Second)
	for resent := uint32(0); ; resent++ {
		d := rto(fd)
		info := edge.WaitInfo(fd, d+2*time.Second, "the SYN timer", func(i *unix.TCPInfo) bool {
			return i.Total_retrans > resent || i.State != unix.BPF_TCP_SYN_SENT
		})
		if info.State != unix.BPF_TCP_SYN_SENT {
			edge.Gap(d)
			break
		}
		s.GapSegments(d, 1, 2*time.Second)
	}
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
