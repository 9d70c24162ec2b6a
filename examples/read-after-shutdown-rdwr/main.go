// Read-after-shutdown-rdwr proves that a socket whose reading side is
// shut does answer new data with an RST once its writing side is shut
// too, while the program still holds it: after shutdown(SHUT_RDWR)
// the peer's next data draws an RST from our own kernel, and our own
// read then fails with ECONNRESET. Data that arrived before the
// shutdown is not affected. poll is asked for every event it knows,
// and all it reports is printed.
package main

import (
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	edge.Println("# data that arrives after the shutdown")
	p := edge.NewPair()
	defer p.Close()
	p.PrintSegments()

	//tcpedges:show
	edge.Println("client: shutdown(SHUT_RDWR)")
	check(unix.Shutdown(p.Client.FD, unix.SHUT_RDWR))
	// Only a FIN goes out: tcp_shutdown sends it, and looks at
	// nothing else.
	p.Client.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()
	edge.Println("client: poll() reports", edge.Events(p.Client.FD))

	// The descriptor is still open. New data in FIN_WAIT2 on a
	// socket shut for reading: tcp_rcv_state_process resets the
	// connection (tcp_reset, ECONNRESET for us) and answers the
	// data with an RST.
	edge.Println(`server: conn.Write("late")`)
	n, err := p.Server.Write([]byte("late"))
	edge.WaitFD(p.Client.FD, unix.POLLERR)
	edge.Printf("server: conn.Write returned %d, err %s\n", n, p.Describe(err))
	p.PrintStates()
	edge.Println("client: poll() reports", edge.Events(p.Client.FD))

	buf := make([]byte, 64)
	n, err = unix.Read(p.Client.FD, buf)
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	n, err = unix.Read(p.Client.FD, buf)
	edge.Printf("client: read() again = %s\n", edge.Ret(n, err))
	//tcpedges:end

	// The server had our FIN first: CLOSE_WAIT, then the RST,
	// which tcp_reset records as EPIPE in that state.
	soerr, err := unix.GetsockoptInt(p.Server.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	edge.Printf("server: getsockopt(SO_ERROR) = %s\n", edge.SOError(soerr))

	// Data that was already queued when the reading side was shut is
	// still read, and draws no RST: only new data does.
	edge.Println("# data queued before the shutdown")
	q := edge.NewPair()
	defer q.Close()
	q.PrintSegments()
	edge.Println(`server: conn.Write("early")`)
	n, err = q.Server.Write([]byte("early"))
	edge.WaitAcked(q.Server.FD)
	edge.Printf("server: conn.Write returned %d, err %s\n", n, q.Describe(err))
	edge.Println("client: shutdown(SHUT_RDWR)")
	check(unix.Shutdown(q.Client.FD, unix.SHUT_RDWR))
	q.Client.WaitState("FIN_WAIT2")
	q.PrintSegments()
	n, err = unix.Read(q.Client.FD, buf)
	edge.Printf("client: read() = %s %q\n", edge.Ret(n, err), buf[:max(n, 0)])
	n, err = unix.Read(q.Client.FD, buf)
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	q.PrintSegments()
	q.PrintStates()
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
