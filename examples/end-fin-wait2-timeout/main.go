// End-fin-wait2-timeout proves that FIN_WAIT2 ends on a timer only
// for a socket nobody holds. Two servers close their side, one with
// close() and one with shutdown(SHUT_WR), and neither client ever
// closes. After net.ipv4.tcp_fin_timeout, set to 1 s inside a network
// namespace this program creates, the orphan is gone and the socket
// we hold is still in FIN_WAIT2, with no timer at all (keepalive off,
// as in a C program; Go's default keepalive would run there).
package main

import (
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

// finTimeout is net.ipv4.tcp_fin_timeout inside the host.
const finTimeout = 1 * time.Second

//tcpedges:wait 1s tcp_fin_timeout=1 in the server host
func main() {
	edge.ParseFlags()
	h := edge.NewHost("host")
	defer h.Close()
	h.Sysctl("net.ipv4.tcp_fin_timeout", strconv.Itoa(int(finTimeout.Seconds())))
	h.Do(func() {
		v, err := os.ReadFile("/proc/sys/net/ipv4/tcp_fin_timeout")
		check(err)
		edge.Printf("inside the host: net.ipv4.tcp_fin_timeout = %s\n", strings.TrimSpace(string(v)))

		s := edge.NewScene()
		defer s.Close()
		c1, s1 := connect(s, "1")
		c2, s2 := connect(s, "2")
		defer c1.Close()
		defer c2.Close()
		defer s2.Close()
		edge.Println("connected, twice")

		//tcpedges:show
		edge.Println("server1: close()")
		s1.Close()
		s1.WaitState("FIN_WAIT2")
		// The orphan gets tcp_fin_timeout; the socket we hold (below),
		// no timer: tcp_rcv_state_process arms the FIN_WAIT2 timeout
		// only for a socket that is closed already (SOCK_DEAD).
		edge.Printf("  server1 %s (closed: sock_diag), timer %s\n", s1.State(), s1.Timer())
		edge.Println("server2: shutdown(SHUT_WR)")
		check(unix.Shutdown(s2.FD, unix.SHUT_WR))
		s2.WaitState("FIN_WAIT2")
		edge.Printf("  server2 %s, timer %s\n", s2.State(), s2.Timer())

		// Wait for the kernel to free the orphan: no segment is sent,
		// client1 is not told, and stays in CLOSE_WAIT.
		edge.Gap(finTimeout)
		edge.Timeout = 5 * finTimeout
		s1.WaitState("CLOSED")
		edge.Println("after tcp_fin_timeout:")
		s.PrintSegments()
		edge.Printf("  server1 %s (closed: sock_diag), client1 %s\n", s1.State(), c1.State())
		edge.Printf("  server2 %s, timer %s; client2 %s\n", s2.State(), s2.Timer(), c2.State())

		// When client1 closes at last, its FIN finds no socket.
		edge.Println("client1: close()")
		c1.Close()
		c1.WaitState("CLOSED")
		s.PrintSegments()
		//tcpedges:end
	})
}

// connect makes connection n: clientn to servern, each with a port of
// its own, and without Go's keepalive, as a C program has it.
func connect(s *edge.Scene, n string) (client, server *edge.End) {
	ln := s.Listen("server" + n)
	defer ln.Close()
	client = s.Dial("client"+n, ln.Addr())
	server = s.Accept(ln, "server"+n)
	check(client.SetKeepAlive(false))
	check(server.SetKeepAlive(false))
	return client, server
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
