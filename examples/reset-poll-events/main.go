// Reset-poll-events proves what poll(2) reports once an RST has
// arrived, when it is asked for every event it knows: not only
// POLLERR and POLLHUP, but POLLIN, POLLOUT and POLLRDHUP too (with
// POLLRDNORM and POLLWRNORM), because the reset socket is shut in
// both directions. POLLERR lasts only until a call takes the error;
// the rest stays.
package main

import (
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()

	edge.Println("# the peer closes, our write draws an RST")
	p := edge.NewPair()
	p.PrintSegments()
	edge.Println("client: poll() reports", edge.Events(p.Client.FD))
	edge.Println("server: close()")
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	edge.Println("client: poll() reports", edge.Events(p.Client.FD))
	edge.Println(`client: write("hello")`)
	n, err := unix.Write(p.Client.FD, []byte("hello"))
	//tcpedges:show
	// Wait for the error with poll, then ask poll again for every
	// event: tcp_poll sets POLLHUP for a closed socket, POLLIN and
	// POLLRDHUP for one shut for reading, POLLOUT for one shut for
	// writing (a write will not block: it fails at once), and
	// POLLERR while SO_ERROR holds an error.
	edge.WaitFD(p.Client.FD, unix.POLLERR)
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	p.PrintStates()
	edge.Println("client: poll() reports", edge.Events(p.Client.FD))
	soerr, err := unix.GetsockoptInt(p.Client.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	edge.Printf("client: getsockopt(SO_ERROR) = %s\n", edge.SOError(soerr))
	edge.Println("client: poll() reports", edge.Events(p.Client.FD))
	//tcpedges:end
	p.Close()

	edge.Println("# the peer aborts: an RST without a FIN")
	p = edge.NewPair()
	defer p.Close()
	p.PrintSegments()
	edge.Println("server: setsockopt(SO_LINGER, {1, 0}), close()")
	check(unix.SetsockoptLinger(p.Server.FD, unix.SOL_SOCKET, unix.SO_LINGER,
		&unix.Linger{Onoff: 1, Linger: 0}))
	p.Server.Close()
	edge.WaitFD(p.Client.FD, unix.POLLERR)
	p.PrintSegments()
	p.PrintStates()
	edge.Println("client: poll() reports", edge.Events(p.Client.FD))
	n, err = unix.Read(p.Client.FD, make([]byte, 64))
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	edge.Println("client: poll() reports", edge.Events(p.Client.FD))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
