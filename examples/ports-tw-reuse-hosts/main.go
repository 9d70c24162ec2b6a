// Ports-tw-reuse-hosts proves what net.ipv4.tcp_tw_reuse changes
// between two hosts, in a lab of network namespaces: the default, 2,
// reuses a TIME_WAIT on loopback only, so a client whose ports are all
// in TIME_WAIT with a server on another host gets EADDRNOTAVAIL;
// setting it to 1 on the server changes nothing for that client,
// whose ports are its own; setting it to 1 on the client lets its
// connect take over a TIME_WAIT older than tcp_tw_reuse_delay (set to
// 1 ms in the client, which Linux 6.18 has and 6.12 does not).
package main

import (
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/vishvananda/netlink"

	"tcpedges/internal/edge"
)

//tcpedges:wait 30ms the TIME_WAITs must be older than tcp_tw_reuse_delay, set to 1 ms (sock_diag's timer counts in jiffies)
//tcpedges:slow the lab (three namespaces, two veth pairs) and four connections, each closed first and waited into TIME_WAIT, add about 90 ms to the 30 ms wait (the lab's setup alone took up to 1 s on this machine under load, as host-reboot's did)
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	defer lab.Close()
	lab.Client.Do(func() {
		if _, err := os.Stat("/proc/sys/net/ipv4/tcp_tw_reuse_delay"); err != nil {
			edge.Fatalf("this kernel has no net.ipv4.tcp_tw_reuse_delay (it came in Linux 6.14): its TIME_WAITs are reused only after 1 s, which this example does not wait")
		}
	})
	s := lab.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()
	server := ln.Addr().(*net.TCPAddr)

	lab.Client.Sysctl("net.ipv4.ip_local_port_range", "61000 61003")
	lab.Client.Sysctl("net.ipv4.tcp_tw_reuse_delay", "1") // ms
	edge.Println("client: ip_local_port_range 61000 61003 (4 ports), tcp_tw_reuse_delay 1")
	for i := 1; i <= 4; i++ {
		openClose(lab, ln, i)
	}
	lab.Client.Do(func() {
		edge.Printf("client: sock_diag, connections to server: %s\n", edge.StatesTo(server))
		waitOlder(server)
	})

	//tcpedges:show
	edge.Println("client: tcp_tw_reuse 2 (the default: loopback only)")
	dial(lab, s, "client5", server)

	lab.Server.Sysctl("net.ipv4.tcp_tw_reuse", "1")
	edge.Println("server: tcp_tw_reuse 1")
	dial(lab, s, "client6", server)

	lab.Client.Sysctl("net.ipv4.tcp_tw_reuse", "1")
	edge.Println("client: tcp_tw_reuse 1")
	c := dial(lab, s, "client7", server)
	//tcpedges:end
	if c == nil {
		edge.Fatalf("client7: no reuse with tcp_tw_reuse 1 in the client: the story needs one")
	}
	defer c.Close()
	srv, err := ln.AcceptTCP()
	edge.Check(err, "server: accept client7")
	defer srv.Close()
}

// dial connects from the client host to server as role, and says from
// which port.
func dial(lab *edge.Lab, s *edge.Scene, role string, server *net.TCPAddr) net.Conn {
	var c net.Conn
	lab.Client.Do(func() {
		timeWaits := edge.LocalPorts(edge.ConnsTo(server))
		var err error
		c, err = net.Dial("tcp", server.String())
		if err != nil {
			notAvail(role, s, err)
			edge.Printf("%s: net.Dial(server): err %s\n", role, s.Describe(err))
			return
		}
		s.NameConn(c.LocalAddr(), c.RemoteAddr(), role)
		port := c.LocalAddr().(*net.TCPAddr).Port
		edge.Printf("%s: net.Dial(server): connected, from a port that was in TIME_WAIT: %v\n", role, timeWaits[port])
		edge.Printf("  client: sock_diag, connections to server: %s\n", edge.StatesTo(server))
	})
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

// openClose connects from the client host to ln, closes first, lets
// the server close in turn, and waits for the client's TIME_WAIT. Its
// segments are not shown: the connection has no role.
func openClose(lab *edge.Lab, ln *net.TCPListener, i int) {
	role := "client" + string(rune('0'+i))
	var c net.Conn
	lab.Client.Do(func() {
		var err error
		c, err = net.Dial("tcp", ln.Addr().String())
		edge.Check(err, role+": connect")
	})
	srv, err := ln.AcceptTCP()
	edge.Check(err, role+": accept")
	c.Close()
	if _, err := srv.Read(make([]byte, 1)); err == nil {
		edge.Fatalf("%s: the server read data, not the client's FIN", role)
	}
	srv.Close()
	var st string
	lab.Client.Do(func() {
		st = edge.WaitConnState(c.LocalAddr().(*net.TCPAddr), ln.Addr().(*net.TCPAddr), "TIME_WAIT")
	})
	edge.Printf("%s: net.Dial(server), Close() first: %s\n", role, st)
}

// notAvail ends the program unless err is EADDRNOTAVAIL, the ports run
// out: any other outcome (too many open files, say) tells another
// story.
func notAvail(step string, s *edge.Scene, err error) {
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		edge.Fatalf("%s: net.Dial(server): %s, where the story needs EADDRNOTAVAIL", step, s.Describe(err))
	}
}
