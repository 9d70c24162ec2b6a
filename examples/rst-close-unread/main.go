// Rst-close-unread proves the second cause of RST: close() while data
// the peer sent is still unread in our receive queue. The kernel sends
// an RST instead of a FIN (RFC 2525 2.17), discarding the data, and the
// peer's next read fails with ECONNRESET, once; after that it returns
// 0.
package main

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	p := edge.NewPair()
	defer p.Close()
	fmt.Println("connected")
	p.PrintSegments()

	n, err := p.Client.Write([]byte("hello"))
	fmt.Printf("client: conn.Write(\"hello\") = %d, err %s\n", n, p.Describe(err))
	// The data is in the server's receive queue; nobody reads it.
	edge.WaitFD(p.Server.FD, unix.POLLIN)
	q, err := unix.IoctlGetInt(p.Server.FD, unix.SIOCINQ)
	check(err)
	p.PrintSegments()
	fmt.Printf("server: %d bytes unread in the receive queue\n", q)

	// __tcp_close sees unread data and calls tcp_send_active_reset
	// instead of sending a FIN: the peer must learn that its data was
	// thrown away, not that we finished.
	fmt.Println("server: close()")
	p.Server.Close()
	p.Client.WaitState("CLOSED")
	p.PrintSegments()
	p.PrintStates()

	// The RST set the client's socket error; the first read reports
	// it and clears it, and from then on read sees the end of file.
	// Go's Read is that read(2), and wraps the errno.
	buf := make([]byte, 64)
	n, err = p.Client.Read(buf)
	fmt.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))
	fmt.Printf("client: errors.Is(err, syscall.ECONNRESET) %v\n",
		errors.Is(err, syscall.ECONNRESET))
	n, err = unix.Read(p.Client.FD, buf)
	fmt.Printf("client: read() again = %s\n", edge.Ret(n, err))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
