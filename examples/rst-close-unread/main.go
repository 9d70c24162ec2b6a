// Rst-close-unread proves the second cause of RST: close() while data
// the peer sent is still unread in our receive queue. The kernel sends
// an RST instead of a FIN (RFC 2525 2.17), discarding the data, and the
// peer's next read fails with ECONNRESET, once; after that it returns
// 0.
package main

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	edge.Println("client: connect(), server: accept()")
	p := edge.NewPair()
	defer p.Close()
	p.PrintSegments()

	//tcpedges:show
	edge.Println(`client: conn.Write("hello")`)
	_, err := p.Client.Write([]byte("hello"))
	check(err)
	// The data is in the server's receive queue (the server's kernel
	// has acknowledged it); nobody reads it.
	edge.WaitAcked(p.Client.FD)
	q, err := unix.IoctlGetInt(p.Server.FD, unix.SIOCINQ)
	check(err)
	edge.Printf("server: %d bytes unread in the receive queue\n", q)

	// __tcp_close sees unread data and calls tcp_send_active_reset
	// instead of sending a FIN: the peer must learn that its data was
	// thrown away, not that we finished.
	edge.Println("server: close()")
	p.Server.Close()
	p.Client.WaitState("CLOSED")
	p.PrintSegments()
	p.PrintStates()

	// The RST set the client's socket error; the first read reports
	// it and clears it, and from then on read sees the end of file.
	// Go's Read is that read(2), and wraps the errno.
	buf := make([]byte, 64)
	n, err := p.Client.Read(buf)
	edge.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))
	edge.Printf("client: errors.Is(err, syscall.ECONNRESET) %v\n",
		errors.Is(err, syscall.ECONNRESET))
	n, err = unix.Read(p.Client.FD, buf)
	edge.Printf("client: read() again = %s\n", edge.Ret(n, err))
	//tcpedges:end
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
