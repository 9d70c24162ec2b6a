// Pipe-write-after-peer-close replays the classic sequence on Linux:
// the peer closes, our first write succeeds, the peer's kernel answers
// it with an RST, and only the next write fails — with EPIPE and
// SIGPIPE. A read after that RST returns 0, not ECONNRESET: the FIN
// came first, and Linux keeps reporting end of file.
package main

import (
	"errors"
	"fmt"
	"io"
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
	edge.Println("server: close()")
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()

	// The FIN only says the peer will send nothing more; the kernel
	// takes our data into the send buffer as usual.
	write := func() string {
		var n int
		var err error
		sig := edge.SignalsDuring(func() {
			n, err = unix.Write(p.Client.FD, []byte("hello"))
		})
		return fmt.Sprintf("%s, signal raised: %s", edge.Ret(n, err), edge.SignalName(sig))
	}
	edge.Println(`client: write("hello")`)
	ret := write()

	// The server has no socket left to take the data: its kernel
	// answers with an RST (tcp_rcv_state_process, data after close).
	// Our tcp_reset records the error in SO_ERROR; poll shows it.
	events := edge.WaitFD(p.Client.FD, unix.POLLERR)
	edge.Println("client: write() =", ret)
	edge.Println("client: poll() =", events)
	p.PrintStates()

	// A common belief says ECONNRESET here. Linux returns 0:
	// tcp_recvmsg reports end of file once a FIN has arrived
	// (SOCK_DONE) before it looks at the pending error.
	buf := make([]byte, 64)
	n, err := unix.Read(p.Client.FD, buf)
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))

	// The error the RST left is still pending, and it is not
	// ECONNRESET: tcp_reset records EPIPE for a socket in CLOSE_WAIT.
	soerr, err := unix.GetsockoptInt(p.Client.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	edge.Printf("client: getsockopt(SO_ERROR) = %s\n", errno(soerr))

	edge.Println("client: write() again =", write())
	edge.Println("client: write() a third time =", write())

	// Go sees the same: io.EOF, then "broken pipe".
	n, err = p.Client.Read(buf)
	edge.Printf("client: conn.Read = %d, err %s, errors.Is(err, io.EOF) %v\n",
		n, p.Describe(err), errors.Is(err, io.EOF))
	n, err = p.Client.Write([]byte("hello"))
	edge.Printf("client: conn.Write = %d, err %s, errors.Is(err, syscall.EPIPE) %v\n",
		n, p.Describe(err), errors.Is(err, syscall.EPIPE))
	p.PrintSegments()
	//tcpedges:end
}

func errno(e int) string {
	if e == 0 {
		return "0"
	}
	return unix.ErrnoName(unix.Errno(e))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
