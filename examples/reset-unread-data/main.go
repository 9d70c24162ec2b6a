// Reset-unread-data shows when a reader sees a clean end of file and
// when ECONNRESET, with data still waiting to be read. After a FIN the
// reader gets the data, then 0. After an RST it gets the data too —
// Linux keeps what it has received — then ECONNRESET once, then 0.
package main

import (
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

// delayedACK is how long our kernel delays its ACK of a FIN that
// follows data: tcp_fin switches the socket to delayed ACKs
// ("pingpong" mode), and the data received before set the delay to
// TCP_ATO_MIN (include/net/tcp.h).
//
//tcpedges:wait 40ms our delayed ACK of the server's FIN, which follows data (TCP_ATO_MIN)
//tcpedges:slow two connections, each with its own capture, add about 25 ms to the 40 ms delayed ACK it waits for
const delayedACK = 40 * time.Millisecond

func main() {
	edge.ParseFlags()

	edge.Println("# the server writes a response and closes")
	p := respond()
	//tcpedges:show
	edge.Println("server: close()")
	p.Server.Close()
	// Wait for our delayed ACK of the FIN to arrive, so that the
	// output is the same on every run.
	p.Server.WaitState("FIN_WAIT2")
	p.PrintDelayed(delayedACK)
	readAll(p)
	//tcpedges:end
	p.Close()

	edge.Println("# the server writes a response and aborts")
	p = respond()
	//tcpedges:show
	edge.Println("server: setsockopt(SO_LINGER, {1, 0}), close()")
	check(unix.SetsockoptLinger(p.Server.FD, unix.SOL_SOCKET, unix.SO_LINGER,
		&unix.Linger{Onoff: 1, Linger: 0}))
	p.Server.Close()
	edge.WaitFD(p.Client.FD, unix.POLLERR) // the RST has arrived
	p.PrintSegments()
	readAll(p)
	//tcpedges:end
	p.Close()
}

// respond makes a connection on which the server has written a
// response that the client's kernel holds and the client has not read.
func respond() *edge.Pair {
	p := edge.NewPair()
	p.PrintSegments()
	edge.Println(`server: write("response")`)
	_, err := unix.Write(p.Server.FD, []byte("response"))
	check(err)
	edge.WaitAcked(p.Server.FD)
	p.PrintSegments()
	return p
}

// readAll shows what the client's kernel holds, then reads until
// nothing changes.
func readAll(p *edge.Pair) {
	// SIOCINQ (FIONREAD): bytes received and not yet read. On an RST,
	// tcp_reset purges the write queue, not the receive queue.
	queued, err := unix.IoctlGetInt(p.Client.FD, unix.SIOCINQ)
	check(err)
	edge.Printf("client: state %s, %d bytes waiting to be read\n", p.Client.State(), queued)
	buf := make([]byte, 64)
	for range 3 {
		n, err := unix.Read(p.Client.FD, buf)
		edge.Printf("client: read() = %s %q\n", edge.Ret(n, err), buf[:max(n, 0)])
	}
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
