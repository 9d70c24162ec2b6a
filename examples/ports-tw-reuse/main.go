// Ports-tw-reuse proves what net.ipv4.tcp_tw_reuse changes for a
// client whose local ports are all in TIME_WAIT with one server: with
// 2, the default, connect(2) takes over a port's TIME_WAIT on
// loopback, but only once the TIME_WAIT is older than
// net.ipv4.tcp_tw_reuse_delay (1000 ms by default); with 0 never. The
// delay is set to 1 ms here, in a network namespace of the program's
// own, so that the program does not wait a second.
//
// The reuse is decided in tcp_twsk_unique (net/ipv4/tcp_ipv4.c); it
// needs TCP timestamps, on by default, and the delay knob, which
// Linux 6.18 has and 6.12 does not.
package main

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"

	"tcpedges/internal/edge"
)

//tcpedges:wait 30ms the TIME_WAITs must be older than tcp_tw_reuse_delay, set to 1 ms (sock_diag's timer counts in jiffies)
//tcpedges:slow a namespace of its own and four connections, each closed first and waited into TIME_WAIT, add 50 to 70 ms to the 30 ms wait
func main() {
	edge.ParseFlags()
	h := edge.NewHost("host")
	defer h.Close()
	h.Do(func() {
		if _, err := os.Stat("/proc/sys/net/ipv4/tcp_tw_reuse_delay"); err != nil {
			edge.Fatalf("this kernel has no net.ipv4.tcp_tw_reuse_delay (it came in Linux 6.14): its TIME_WAITs are reused only after 1 s, which this example does not wait")
		}
	})
	h.Do(func() {
		s := edge.NewQuietScene()
		defer s.Close()
		ln := s.Listen("server")
		defer ln.Close()
		server := ln.Addr().(*net.TCPAddr)
		h.Sysctl("net.ipv4.ip_local_port_range", "61000 61003")
		edge.Printf("ip_local_port_range 61000 61003 (4 ports), tcp_tw_reuse %s, tcp_tw_reuse_delay %s (the defaults)\n",
			sysctl("tcp_tw_reuse"), sysctl("tcp_tw_reuse_delay"))
		// 1000 ms would do, unless the program itself were late by a
		// second (starved of CPU, say): a TIME_WAIT would then be old
		// enough for the next connection to take it over. 60000 ms,
		// the maximum, leaves no doubt.
		h.Sysctl("net.ipv4.tcp_tw_reuse_delay", "60000") // ms
		edge.Println("tcp_tw_reuse_delay 60000")
		for i := 1; i <= 4; i++ {
			openClose(s, ln, i)
		}
		edge.Printf("sock_diag, connections to server: %s\n", edge.StatesTo(server))

		//tcpedges:show
		// On loopback, but every TIME_WAIT is younger than the delay.
		dial(s, "client5", server)

		h.Sysctl("net.ipv4.tcp_tw_reuse_delay", "1") // ms
		h.Sysctl("net.ipv4.tcp_tw_reuse", "0")
		edge.Println("tcp_tw_reuse_delay 1, tcp_tw_reuse 0")
		waitOlder(server)
		dial(s, "client6", server)

		h.Sysctl("net.ipv4.tcp_tw_reuse", "2")
		edge.Println("tcp_tw_reuse 2")
		c := dial(s, "client7", server)
		//tcpedges:end
		if c == nil {
			edge.Fatalf("client7: no reuse with tcp_tw_reuse 2 on loopback: the story needs one")
		}
		defer c.Close()
	})
}

// sysctl reads net.ipv4.<name> in the namespace of the calling
// thread: /proc/sys/net follows the thread that opens it.
func sysctl(name string) string {
	v, err := os.ReadFile("/proc/sys/net/ipv4/" + name)
	edge.Check(err, "read "+name)
	return strings.TrimSpace(string(v))
}

// dial connects to server as role, and says from which port.
func dial(s *edge.Scene, role string, server *net.TCPAddr) net.Conn {
	timeWaits := edge.LocalPorts(edge.ConnsTo(server))
	c, err := net.Dial("tcp", server.String())
	if err != nil {
		notAvail(role, s, err)
		edge.Printf("%s: net.Dial(server): err %s\n", role, s.Describe(err))
		return nil
	}
	port := c.LocalAddr().(*net.TCPAddr).Port
	edge.Printf("%s: net.Dial(server): connected, from a port that was in TIME_WAIT: %v\n", role, timeWaits[port])
	edge.Printf("  sock_diag, connections to server: %s\n", edge.StatesTo(server))
	return c
}

// waitOlder waits until every TIME_WAIT to server is more than 30 ms
// old: sock_diag reports how long its 60 s timer has left, in
// milliseconds counted in jiffies (4 ms at HZ=250, 10 ms at HZ=100),
// so 30 ms is more than 1 ms whatever HZ.
func waitOlder(server *net.TCPAddr) {
	edge.WaitConnsTo(server, "every TIME_WAIT to be 30 ms old", func(socks []*netlink.Socket) bool {
		for _, s := range socks {
			if edge.StateName(s.State) == "TIME_WAIT" && s.Expires > 60000-30 {
				return false
			}
		}
		return true
	})
}

// openClose connects to ln as client<i>, closes first, lets the
// server close in turn, and waits for the client's TIME_WAIT.
func openClose(s *edge.Scene, ln *net.TCPListener, i int) {
	role := "client" + string(rune('0'+i))
	c := s.Dial(role, ln.Addr())
	srv := s.Accept(ln, "server-of-"+role)
	c.Close()
	if _, err := srv.Read(make([]byte, 1)); err == nil {
		edge.Fatalf("%s: the server read data, not the client's FIN", role)
	}
	srv.Close()
	c.WaitState("TIME_WAIT")
	edge.Printf("%s: net.Dial(server), Close() first: %s\n", role, c.State())
}

// notAvail ends the program unless err is EADDRNOTAVAIL, the ports run
// out: any other outcome (too many open files, say) tells another
// story.
func notAvail(step string, s *edge.Scene, err error) {
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		edge.Fatalf("%s: net.Dial(server): %s, where the story needs EADDRNOTAVAIL", step, s.Describe(err))
	}
}
