// Read-after-close proves what read returns once the peer has called
// close(): 0 bytes, which Go reports as io.EOF. The peer's FIN moves
// us to CLOSE_WAIT and the peer, which no process holds any more, to
// FIN_WAIT2, where only sock_diag can still see it.
package main

import (
	"errors"
	"io"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	edge.Println("client: connect(), server: accept()")
	p := edge.NewPair()
	defer p.Close()
	p.PrintSegments()
	p.PrintStates()

	//tcpedges:show
	// conn.Close is close(2): the kernel sends a FIN.
	edge.Println("server: close()")
	p.Server.Close()
	// The client's ACK of the FIN moves the server to FIN_WAIT2.
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()

	// read(2) returns 0 at once: no data will ever come again.
	// (The descriptor is non-blocking, as Go makes all of them,
	// but a read that returns 0 does not depend on that.)
	buf := make([]byte, 64)
	n, err := unix.Read(p.Client.FD, buf)
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	n, err = unix.Read(p.Client.FD, buf)
	edge.Printf("client: read() again = %s\n", edge.Ret(n, err))

	// Go turns the 0 into io.EOF.
	n, err = p.Client.Read(buf)
	edge.Printf("client: conn.Read = %d, err %s, errors.Is(err, io.EOF) %v\n",
		n, p.Describe(err), errors.Is(err, io.EOF))
	//tcpedges:end
	p.PrintSegments()
	p.PrintStates()
}
