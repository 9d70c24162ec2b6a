// Idle-keepalive-race proves what a client sees when it sends a request
// on an idle keep-alive connection at the moment the server closes it,
// in the two orders the race can take. When the server's FIN arrived
// first, the client's write still succeeds, the server's kernel answers
// the data with an RST, and the client's read returns 0: Go's io.EOF.
// When the request arrived first, the server's close() finds it unread
// and sends an RST instead of a FIN, and the client's read fails with
// ECONNRESET. The client can tell neither from a request the server
// refused to handle: the request was not answered.
package main

import (
	"errors"
	"io"
	"syscall"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

const request = "GET / HTTP/1.1\r\nHost: server\r\n\r\n"

func main() {
	edge.ParseFlags()

	edge.Println("# the server's FIN arrives before the request")
	edge.Println("client: connect(), server: accept()")
	p := edge.NewPair()
	//tcpedges:show
	// The server closes the idle connection (its idle timeout): a FIN.
	// The client's kernel acknowledges it; the client, busy elsewhere,
	// has not read it yet.
	edge.Println("server: close() (idle timeout)")
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()

	// A FIN closes only the server's direction: the kernel takes the
	// client's request. No socket holds the server's end any more, so
	// its kernel answers the data with an RST.
	edge.Println("client: conn.Write(request)")
	n, err := p.Client.Write([]byte(request))
	check(err)
	p.Client.WaitState("CLOSED")
	edge.Printf("client: conn.Write = %d, err %s\n", n, p.Describe(err))
	p.PrintStates()

	// The FIN came first: read reports the end of file, not the RST
	// (tcp_recvmsg sees SOCK_DONE before the pending error).
	buf := make([]byte, 64)
	n, err = p.Client.Read(buf)
	edge.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))
	edge.Printf("client: errors.Is(err, io.EOF) %v\n", errors.Is(err, io.EOF))
	//tcpedges:end
	p.Close()

	edge.Println("# the request arrives before the server closes")
	edge.Println("client: connect(), server: accept()")
	p = edge.NewPair()
	defer p.Close()
	//tcpedges:show
	edge.Println("client: conn.Write(request)")
	n, err = p.Client.Write([]byte(request))
	check(err)
	edge.WaitAcked(p.Client.FD)
	edge.Printf("client: conn.Write = %d, err %s\n", n, p.Describe(err))
	q, err := unix.IoctlGetInt(p.Server.FD, unix.SIOCINQ)
	check(err)
	edge.Printf("server: %d bytes unread in the receive queue\n", q)

	// The idle timer fires just as the request has arrived: close()
	// finds data unread and sends an RST instead of a FIN (__tcp_close).
	edge.Println("server: close() (idle timeout)")
	p.Server.Close()
	p.Client.WaitState("CLOSED")
	p.PrintSegments()
	p.PrintStates()

	n, err = p.Client.Read(buf)
	edge.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))
	edge.Printf("client: errors.Is(err, syscall.ECONNRESET) %v\n",
		errors.Is(err, syscall.ECONNRESET))
	//tcpedges:end
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
