// Rst-data-after-close proves the fourth cause of RST: data arriving
// for a socket that has been closed. The server closes (a FIN, nothing
// unread), the client, which may still write after a FIN, writes, and
// the server's kernel answers the data with an RST, because no process
// can ever read it. The client's read still returns 0, and the error
// the RST left is EPIPE, not ECONNRESET: it reached a socket in
// CLOSE_WAIT.
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
	edge.Println("server: close()")
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()

	// A FIN only says that the server will send nothing more: the
	// write succeeds, and the data goes out.
	edge.Println(`client: conn.Write("late")`)
	n, err := p.Client.Write([]byte("late"))
	// The closed server has no reader for it. Its connection lives on
	// only as a small timewait socket in state FIN_WAIT2 (tcp_time_wait
	// at the ACK of its FIN), and new data makes
	// tcp_timewait_state_process answer with an RST.
	p.Client.WaitState("CLOSED")
	edge.Printf("client: conn.Write = %d, err %s\n", n, p.Describe(err))
	p.PrintStates()

	// read sees the FIN first (tcp_recvmsg checks SOCK_DONE before
	// the socket's error), so it returns 0, not an error.
	buf := make([]byte, 64)
	n, err = p.Client.Read(buf)
	edge.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))
	// The error is there all the same. tcp_reset sets ECONNRESET,
	// except in CLOSE_WAIT, where it sets EPIPE: the peer had
	// finished already. getsockopt(SO_ERROR) reads and clears it.
	soerr, err := unix.GetsockoptInt(p.Client.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	edge.Printf("client: getsockopt(SO_ERROR) = %s\n", unix.ErrnoName(unix.Errno(soerr)))
	//tcpedges:end
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
