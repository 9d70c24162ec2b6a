// Stall-nagle-delayed-ack proves the 40 ms stall of a request written
// in two pieces: with Nagle's algorithm on (Go turns it off; the
// program turns it back on), the second small write waits until the
// first is acknowledged, and a peer that has answered a request before
// delays that ACK by 40 ms, hoping to send it with its answer. A fresh
// connection does not stall, nor one with TCP_NODELAY (Go's default),
// nor a peer that asks for quick ACKs.
package main

import (
	"io"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 40ms the server's delayed ACK of the first piece, on the second request (TCP_ATO_MIN)
//tcpedges:slow four connections and their exchanges add about 45 ms to the 40 ms delayed ACK it waits for
func main() {
	edge.ParseFlags()
	// With two pieces unacknowledged, the client's tail loss probe
	// (RFC 8985) is due 2 round trips and 2 ms later, rounded up to a
	// clock tick (tcp_schedule_loss_probe, TCP_TIMEOUT_MIN_US): a few
	// ms on loopback, less than a program starved of CPU may take to
	// read on the server's side, and it would resend "b". Turned off
	// in the example's own network namespace (tcp_early_retrans 0); no
	// other output depends on it.
	check(os.WriteFile("/proc/sys/net/ipv4/tcp_early_retrans", []byte("0"), 0o644))
	// One scene for the four connections: one capture to read.
	s := edge.NewScene()
	defer s.Close()
	defer func() {
		for _, p := range open {
			p.Client.Close()
			p.Server.Close()
		}
	}()
	ln := s.Listen("server")
	defer ln.Close()

	edge.Println("# the first request on a new connection, Nagle on")
	p := connect(s, ln, false)
	request(p, false)

	edge.Println("# the second request, Nagle on")
	p = connect(s, ln, false)
	warmUp(p)
	request(p, true)

	edge.Println("# the second request, Nagle off (TCP_NODELAY, Go's default)")
	p = connect(s, ln, true)
	warmUp(p)
	request(p, false)

	edge.Println("# the second request, Nagle on, TCP_QUICKACK on the server")
	p = connect(s, ln, false)
	warmUp(p)
	quickAck(p)
	request(p, false)
}

// open are the connections made, to close at the end.
var open []*edge.Pair

// connect makes a connection and sets TCP_NODELAY on the client. The
// connections stay open until the program ends: closing one would send
// FINs, whose ACKs the kernel may delay too, and count.
func connect(s *edge.Scene, ln *net.TCPListener, noDelay bool) *edge.Pair {
	p := &edge.Pair{Scene: s}
	open = append(open, p)
	p.Client = s.Dial("client", ln.Addr())
	p.Server = s.Accept(ln, "server")
	p.PrintSegments()
	//tcpedges:show
	edge.Printf("client: conn.SetNoDelay(%v)\n", noDelay)
	check(p.Client.SetNoDelay(noDelay))
	//tcpedges:end
	return p
}

// warmUp makes one exchange, a request in one write and an answer,
// so that the server has answered once, as any server on a connection
// reused for a second request has.
func warmUp(p *edge.Pair) {
	edge.Println(`client: conn.Write("hello"); server: read it, conn.Write("ok"); client: read it`)
	_, err := p.Client.Write([]byte("hello"))
	check(err)
	_, err = io.ReadFull(p.Server, make([]byte, 5))
	check(err)
	_, err = p.Server.Write([]byte("ok"))
	check(err)
	_, err = io.ReadFull(p.Client, make([]byte, 2))
	check(err)
	edge.WaitAcked(p.Server.FD)
	p.PrintSegments()
}

// request writes a request in two pieces and waits until the server
// has read both; stalled says whether the server's delayed ACK is
// expected to hold the second piece back.
func request(p *edge.Pair, stalled bool) {
	info, err := unix.GetsockoptTCPInfo(p.Server.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	check(err)
	ato := time.Duration(info.Ato) * time.Microsecond
	delayed := edge.TCPExtCounter("DelayedACKs")
	//tcpedges:show
	edge.Println(`client: conn.Write("a"), conn.Write("b"); server: read both`)
	start := time.Now()
	_, err = p.Client.Write([]byte("a"))
	check(err)
	// With Nagle on, this piece waits in the send queue while the
	// first is not acknowledged (tcp_nagle_check).
	_, err = p.Client.Write([]byte("b"))
	check(err)
	_, err = io.ReadFull(p.Server, make([]byte, 2))
	check(err)
	elapsed := time.Since(start)
	edge.WaitAcked(p.Client.FD)
	//tcpedges:end
	timerACKs := edge.TCPExtCounter("DelayedACKs") - delayed
	if stalled {
		// The server's delayed-ACK timer sent the ACK, after tcpi_ato
		// (TCP_ATO_MIN, 40 ms, bounded by TCP_DELACK_MIN: tcp_send_delayed_ack).
		p.PrintPaused(fromServer, ato)
	} else if timerACKs > 0 {
		// Nothing held the second piece back, yet the timer fired: the
		// program itself did not run for that long, between its two
		// writes or before the server's read.
		edge.Fatalf("the server's delayed-ACK timer fired where the story has none: "+
			"the program was starved of CPU for more than %d ms between the first write and the server's read",
			ato.Milliseconds())
	} else {
		p.PrintSegments()
	}
	//tcpedges:show
	edge.Printf("server: ACKs sent by the delayed-ACK timer: %d (TcpExtDelayedACKs), tcpi_ato was %d ms\n",
		edge.TCPExtCounter("DelayedACKs")-delayed, ato.Milliseconds())
	//tcpedges:end
	if stalled {
		// Not an upper bound: a program starved of CPU can look late.
		edge.Printf("server: had both pieces more than 30 ms after the first write: %v\n",
			elapsed > 30*time.Millisecond)
	}
}

// quickAck sets TCP_QUICKACK on the server.
func quickAck(p *edge.Pair) {
	//tcpedges:show
	// TCP_QUICKACK takes the server out of its delayed-ACK mode, until
	// it next sends data (tcp(7): the flag is not permanent).
	edge.Println("server: setsockopt(TCP_QUICKACK, 1)")
	check(unix.SetsockoptInt(p.Server.FD, unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1))
	//tcpedges:end
}

// fromServer says whether the server sent a segment.
func fromServer(seg string) bool { return strings.HasPrefix(seg, "server > ") }

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
