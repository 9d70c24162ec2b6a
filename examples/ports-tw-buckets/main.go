// Ports-tw-buckets proves what net.ipv4.tcp_max_tw_buckets does when
// the kernel already holds that many TIME_WAIT sockets: a closing
// connection gets none, and the kernel counts it in TcpExt
// TCPTimeWaitOverflow. With the limit at 1, in a network namespace of
// the program's own, the first connection the client closes first
// keeps its TIME_WAIT; the second has none. Closed with close(), it is
// freed as soon as the server acknowledges its FIN (FIN_WAIT2 needs a
// timewait socket too), and the server's FIN then draws an RST. Closed
// with shutdown(SHUT_WR), it is freed when the server's FIN arrives,
// after its ACK.
package main

import (
	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	h := edge.NewHost("host")
	defer h.Close()
	//tcpedges:show
	h.Sysctl("net.ipv4.tcp_max_tw_buckets", "1")
	edge.Println("net.ipv4.tcp_max_tw_buckets = 1")
	//tcpedges:end
	h.Do(func() {
		edge.Println("# client1: close() first")
		p := edge.NewPair()
		defer p.Close()
		closeFirst(p)

		edge.Println("# client2: close() first")
		p2 := edge.NewPair()
		defer p2.Close()
		//tcpedges:show
		closeFirst(p2)
		//tcpedges:end

		edge.Println("# client3: shutdown(SHUT_WR) first, close() after the server's FIN")
		p3 := edge.NewPair()
		defer p3.Close()
		//tcpedges:show
		overflows := edge.TCPExtCounter("TCPTimeWaitOverflow")
		edge.Println("client: shutdown(SHUT_WR)")
		edge.Check(p3.Client.CloseWrite(), "client: shutdown")
		p3.Client.WaitState("FIN_WAIT2")
		p3.PrintSegments()
		edge.Println("server: close()")
		p3.Server.Close()
		p3.Client.WaitState("TIME_WAIT", "CLOSED")
		p3.PrintSegments()
		edge.Printf("  client %s; TCPTimeWaitOverflow +%d\n", p3.Client.State(),
			edge.TCPExtCounter("TCPTimeWaitOverflow")-overflows)
		//tcpedges:end
		p3.Client.Close()
	})
}

// closeFirst has the client close, then the server, and prints what
// each step left.
func closeFirst(p *edge.Pair) {
	overflows := edge.TCPExtCounter("TCPTimeWaitOverflow")
	before := edge.ReadCounters()
	edge.Println("client: close()")
	p.Client.Close()
	p.Client.WaitState("FIN_WAIT2", "CLOSED")
	p.PrintSegments()
	edge.Printf("  client %s (sock_diag); TCPTimeWaitOverflow +%d\n", p.Client.State(),
		edge.TCPExtCounter("TCPTimeWaitOverflow")-overflows)
	edge.Println("server: close()")
	p.Server.Close()
	p.Server.WaitState("CLOSED")
	p.PrintSegments()
	edge.Printf("  client %s, server %s (sock_diag); %s\n", p.Client.State(), p.Server.State(),
		edge.ReadCounters().Since(before))
}
