// Read-after-half-close proves that read returns 0 also after a
// half-close: the client calls shutdown(SHUT_WR), the server reads 0
// (io.EOF), and yet the server can still send and the client still
// reads what it sends. Go's CloseWrite is that shutdown.
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
	// CloseWrite is shutdown(fd, SHUT_WR): a FIN, and the socket stays
	// open for reading.
	edge.Println("client: conn.CloseWrite(), that is shutdown(SHUT_WR)")
	check(p.Client.CloseWrite())
	p.Client.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()

	buf := make([]byte, 64)
	n, err := unix.Read(p.Server.FD, buf)
	edge.Printf("server: read() = %s\n", edge.Ret(n, err))
	n, err = p.Server.Read(buf)
	edge.Printf("server: conn.Read = %d, err %s\n", n, p.Describe(err))

	// The other direction is still open: CLOSE_WAIT only means that
	// the peer will send no more.
	edge.Println(`server: conn.Write("still here")`)
	n, err = p.Server.Write([]byte("still here"))
	edge.WaitAcked(p.Server.FD)
	edge.Printf("server: conn.Write = %d, err %s\n", n, p.Describe(err))
	n, err = p.Client.Read(buf)
	edge.Printf("client: conn.Read = %d %q, err %s\n", n, buf[:n], p.Describe(err))

	// The server closes its half too; the client, which closed first,
	// ends in TIME_WAIT.
	edge.Println("server: close()")
	p.Server.Close()
	p.Server.WaitState("CLOSED") // the client's ACK of its FIN has arrived
	p.PrintSegments()
	p.PrintStates()
	n, err = p.Client.Read(buf)
	edge.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))
	//tcpedges:end
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
