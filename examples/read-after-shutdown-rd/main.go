// Read-after-shutdown-rd shows what read returns after our own
// shutdown(SHUT_RD), which POSIX leaves open. On Linux: 0 at once,
// like after a FIN, though nothing was sent and the peer knows nothing
// of it. Data the peer sends afterwards is still accepted and
// acknowledged, and read returns it: SHUT_RD discards nothing.
package main

import (
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
	edge.Println("client: shutdown(SHUT_RD)")
	check(unix.Shutdown(p.Client.FD, unix.SHUT_RD))
	// No segment goes out: the peer is not told. (PrintSegments sends
	// its marker only after this point, so an empty list is a real
	// "nothing was sent".)
	p.PrintSegments()
	p.PrintStates()
	edge.Println("client: poll() reports", edge.Events(p.Client.FD))

	buf := make([]byte, 64)
	n, err := unix.Read(p.Client.FD, buf)
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	n, err = p.Client.Read(buf)
	edge.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))

	// The server goes on sending. Linux accepts and acknowledges the
	// data; no RST comes back (some other systems answer with one).
	edge.Println(`server: conn.Write("after")`)
	n, err = p.Server.Write([]byte("after"))
	edge.WaitAcked(p.Server.FD)
	edge.Printf("server: conn.Write = %d, err %s\n", n, p.Describe(err))
	p.PrintStates()

	n, err = unix.Read(p.Client.FD, buf)
	edge.Printf("client: read() = %s %q\n", edge.Ret(n, err), buf[:max(n, 0)])
	n, err = unix.Read(p.Client.FD, buf)
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	//tcpedges:end
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
