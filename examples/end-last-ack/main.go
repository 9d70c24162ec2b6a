// End-last-ack proves the last state of the side that closes second:
// LAST_ACK. The client closes first; the server, in CLOSE_WAIT, reads
// 0 and closes in turn, and waits in LAST_ACK, with a retransmission
// timer running, until the ACK of its FIN arrives; that ACK frees it.
// Two hosts in network namespaces this program creates, joined by a
// veth cable, hold the server's FIN back in its own kernel until
// LAST_ACK has been seen.
package main

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	a, b := edge.NewHost("a"), edge.NewHost("b")
	defer a.Close()
	defer b.Close()
	w := edge.NewWire(a, b)

	// The server listens on b, the client connects from a, and the
	// capture watches the server's end of the wire.
	roles := map[netip.AddrPort]string{}
	var ln net.Listener
	var capture *edge.Capture
	var sb *edge.Scene
	b.Do(func() {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp",
			net.JoinHostPort(w.IP(b).String(), "0"))
		edge.Check(err, "listen on b")
		capture, err = edge.NewCapture("eth0", func(ap netip.AddrPort) string { return roles[ap] })
		edge.Check(err, "start the capture on b's eth0")
		sb = edge.NewQuietScene()
	})
	defer capture.Close()
	var sa *edge.Scene
	a.Do(func() { sa = edge.NewQuietScene() })
	defer sa.Close()
	defer sb.Close()
	var client *edge.End
	a.Do(func() { client = sa.Dial("client", ln.Addr()) })
	server := sb.Accept(ln.(*net.TCPListener), "server")
	ln.Close()
	roles[client.LocalAddr().(*net.TCPAddr).AddrPort()] = "client"
	roles[server.LocalAddr().(*net.TCPAddr).AddrPort()] = "server"
	p := &edge.Pair{Client: client, Server: server}
	edge.PrintSegments()
	edge.Println("connected over the wire")
	p.PrintStates()

	//tcpedges:show
	// The active close, as in end-client-closes-first.
	edge.Println("client: close()")
	client.Close()
	server.WaitState("CLOSE_WAIT")
	client.WaitState("FIN_WAIT2")
	edge.PrintSegments()
	p.PrintStates()

	// The server learns of the FIN by reading 0, and closes: its FIN
	// is sent and it enters LAST_ACK (tcp_close_state). Its FIN waits
	// in the server's own kernel, so no ACK can come back yet.
	n, err := unix.Read(server.FD, make([]byte, 64))
	edge.Printf("server: read() = %s\n", edge.Ret(n, err))
	w.Hold(b)
	edge.Println("server: close(), its FIN held back in the server's kernel")
	server.Close()
	server.WaitState("LAST_ACK")
	edge.PrintSegments()
	p.PrintStates()
	// LAST_ACK retransmits its FIN until it is acknowledged: the
	// timer sock_diag reports is the retransmission timer, "on". (A
	// retransmission due while the FIN is still held is not sent:
	// skb_still_in_host_queue.) Its time left, under a second, is
	// left out: it depends on how long the hold lasted.
	timer, _, _ := strings.Cut(server.Timer(), ",")
	edge.Printf("  server timer: %s\n", timer)

	// The FIN goes; the client, in FIN_WAIT2, acknowledges it and
	// enters TIME_WAIT; that ACK moves the server from LAST_ACK to
	// CLOSED, and the kernel frees it.
	edge.Println("the server's FIN is let go")
	w.Release(b)
	server.WaitState("CLOSED")
	client.WaitState("TIME_WAIT")
	edge.PrintSegments()
	p.PrintStates()
	//tcpedges:end
}
