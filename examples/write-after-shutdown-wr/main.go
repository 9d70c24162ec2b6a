// Write-after-shutdown-wr shows what write does after our own
// shutdown(SHUT_WR). It fails with
// EPIPE and raises SIGPIPE, which kills a C program that has not
// ignored it. MSG_NOSIGNAL keeps the error and drops the signal; Go's
// runtime drops the signal, so a Go program writing to a socket only
// sees the error ("broken pipe").
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
	edge.Println("client: shutdown(SHUT_WR)")
	check(unix.Shutdown(p.Client.FD, unix.SHUT_WR))
	p.Client.WaitState("FIN_WAIT2")
	p.PrintSegments()

	var n int
	var err error
	sig := edge.SignalsDuring(func() {
		n, err = unix.Write(p.Client.FD, []byte("late"))
	})
	edge.Printf("client: write() = %s, signal raised: %s\n", edge.Ret(n, err), edge.SignalName(sig))

	sig = edge.SignalsDuring(func() {
		n, err = unix.SendmsgN(p.Client.FD, []byte("late"), nil, nil, unix.MSG_NOSIGNAL)
	})
	edge.Printf("client: send(MSG_NOSIGNAL) = %s, signal raised: %s\n", edge.Ret(n, err), edge.SignalName(sig))

	// Go makes the same write(2), and the kernel raises the same
	// SIGPIPE; the runtime's handler drops it (it drops every SIGPIPE
	// nobody asked for with signal.Notify), and this program goes on.
	n, err = p.Client.Write([]byte("late"))
	edge.Printf("client: conn.Write = %d, err %s, errors.Is(err, syscall.EPIPE) %v\n",
		n, p.Describe(err), errors.Is(err, syscall.EPIPE))

	// Nothing was sent by any of the three writes.
	p.PrintSegments()
	p.PrintStates()
	//tcpedges:end
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
