// Reset-unread-data shows when a reader sees a clean end of file and
// when ECONNRESET, with data still waiting to be read. After a FIN the
// reader gets the data, then 0. After an RST it gets the data too —
// Linux keeps what it has received — then ECONNRESET once, then 0.
package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()

	fmt.Println("# the server writes a response and closes")
	p := respond()
	fmt.Println("server: close()")
	p.Server.Close()
	edge.WaitFD(p.Client.FD, unix.POLLRDHUP) // the FIN has arrived
	readAll(p)
	// Our kernel delays its ACK of this FIN: tcp_fin switches to
	// delayed ACKs ("pingpong" mode), and the data received before set
	// the delay to 40 ms. TCP_QUICKACK, with the receive queue now
	// empty, sends the ACK at once (tcp_cleanup_rbuf).
	check(unix.SetsockoptInt(p.Client.FD, unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1))
	p.Server.WaitState("FIN_WAIT2") // our ACK of its FIN has arrived
	p.PrintSegments()
	p.Close()

	fmt.Println("# the server writes a response and aborts")
	p = respond()
	fmt.Println("server: setsockopt(SO_LINGER, {1, 0}), close()")
	check(unix.SetsockoptLinger(p.Server.FD, unix.SOL_SOCKET, unix.SO_LINGER,
		&unix.Linger{Onoff: 1, Linger: 0}))
	p.Server.Close()
	edge.WaitFD(p.Client.FD, unix.POLLERR) // the RST has arrived
	p.PrintSegments()
	readAll(p)
	p.Close()
}

// respond makes a connection on which the server has written a
// response that the client's kernel holds and the client has not read.
func respond() *edge.Pair {
	p := edge.NewPair()
	p.PrintSegments()
	fmt.Println(`server: write("response")`)
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
	fmt.Printf("  state %s, %d bytes waiting to be read\n", p.Client.State(), queued)
	buf := make([]byte, 64)
	for range 3 {
		n, err := unix.Read(p.Client.FD, buf)
		fmt.Printf("client: read() = %s %q\n", edge.Ret(n, err), buf[:max(n, 0)])
	}
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
