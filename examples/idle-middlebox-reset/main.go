// Idle-middlebox-reset proves that "connection reset by peer" need not
// come from the peer: a stateful firewall that has forgotten an idle
// flow, and answers its next segment with an RST it forges in the
// server's name (nftables' reject with tcp reset, as a load balancer
// that resets might), makes the client's read fail with ECONNRESET,
// while the server never sent an RST and still has the connection
// ESTABLISHED.
package main

import (
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 2s the router's conntrack forgets an idle flow after 2 s
func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	//tcpedges:show
	const timeout = 2 * time.Second
	edge.Println("router: stateful firewall, forgets a flow idle for 2 s, answers what it does not know with an RST")
	mb := lab.NewMiddlebox(timeout, edge.Reset)
	defer mb.Close()
	p := lab.Pair()
	defer p.Close()
	edge.Printf("router: conntrack entry of client > server: %s\n", mb.Flow(p.Client))
	received := segsIn(p.Server)
	mb.WaitForgotten(p.Client, 2*timeout)
	edge.Gap(timeout)
	edge.Printf("router: conntrack entry of client > server: %s\n", mb.Flow(p.Client))

	edge.Println(`client: write("ping")`)
	n, err := unix.Write(p.Client.FD, []byte("ping"))
	// The RST comes from the router, with the server's address and
	// port, and the sequence number the client expects next (the
	// acknowledgment number of its segment): the client cannot tell
	// it from the server's own.
	p.Client.WaitState("CLOSED")
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	_, err = p.Client.Read(make([]byte, 64))
	edge.Printf("client: conn.Read: %s\n", p.Describe(err))
	edge.Printf("router: segments answered with an RST: %d\n", mb.Forgotten())
	edge.Printf("server: segments received since the handshake: %d; RSTs sent (Tcp OutRsts): %d; state %s\n",
		segsIn(p.Server)-received, lab.Server.Counter("TcpOutRsts"), p.Server.State())
	//tcpedges:end
}

// segsIn is the number of segments the socket received (tcpi_segs_in).
func segsIn(e *edge.End) int {
	info, err := unix.GetsockoptTCPInfo(e.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	edge.CheckCaller(err)
	return int(info.Segs_in)
}
