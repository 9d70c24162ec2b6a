// End-simultaneous-close proves what happens when both sides close at
// once, so that their FINs cross: each receives the other's FIN while
// its own is not yet acknowledged, enters CLOSING, and both end in
// TIME_WAIT. Two hosts in network namespaces this program creates,
// joined by a veth cable, hold each FIN back until both are sent.
package main

import (
	"context"
	"net"
	"time"

	"tcpedges/internal/edge"
)

//tcpedges:wait 200ms the held FINs are retransmitted after one RTO (200 ms)
func main() {
	edge.ParseFlags()
	a, b := edge.NewHost("a"), edge.NewHost("b")
	defer a.Close()
	defer b.Close()
	w := edge.NewWire(a, b)

	// The server listens on b, the client connects from a.
	var client, server *edge.End
	var ln net.Listener
	b.Do(func() {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp",
			net.JoinHostPort(w.IP(b).String(), "0"))
		edge.Check(err, "listen on b")
	})
	var sa, sb *edge.Scene
	a.Do(func() { sa = edge.NewScene() })
	b.Do(func() { sb = edge.NewScene() })
	defer sa.Close()
	defer sb.Close()
	a.Do(func() { client = sa.Dial("client", ln.Addr()) })
	server = sb.Accept(ln.(*net.TCPListener), "server")
	ln.Close()
	edge.Println("connected over the wire")
	printStates(client, server)

	//tcpedges:show
	// Each FIN waits in its own host's kernel, so that neither can
	// arrive before the other is sent.
	w.Hold(a)
	w.Hold(b)
	// Each side will retransmit its FIN one RTO after it sent it.
	rto := edge.RTO(client.FD)
	edge.Println("client: close(); server: close()")
	client.Close()
	server.Close()
	// What each side sends from now on is dropped: the ACK it will
	// send for the other's FIN, so that both stay in CLOSING where we
	// can see them. The held FINs are routed already, and still go.
	w.Drop(a, true)
	w.Drop(b, true)
	client.WaitState("FIN_WAIT1")
	server.WaitState("FIN_WAIT1")
	printStates(client, server)

	edge.Println("the client's FIN reaches the server")
	w.Release(a)
	server.WaitState("CLOSING")
	printStates(client, server)
	edge.Println("the server's FIN reaches the client")
	w.Release(b)
	client.WaitState("CLOSING")
	printStates(client, server)

	// Each side retransmits its FIN one retransmission timeout
	// (200 ms) after it first sent it, now acknowledging the other's
	// (or twice that, should the routes have dropped that one): both
	// end in TIME_WAIT, the state of a side that closed first.
	edge.Println("the ACKs get through")
	edge.Timeout = 5 * time.Second
	w.Drop(a, false)
	w.Drop(b, false)
	edge.Gap(rto)
	client.WaitState("TIME_WAIT")
	server.WaitState("TIME_WAIT")
	printStates(client, server)
	edge.Printf("  timers: client %s; server %s\n", client.TimerWithin(10*time.Second), server.TimerWithin(10*time.Second))
	//tcpedges:end
}

func printStates(client, server *edge.End) {
	edge.Printf("  states: client %s, server %s\n", client.State(), server.State())
}
