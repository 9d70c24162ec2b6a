// End-close-wait-forever replays the notes' echo client blocked in
// fgets: the server closes, the client does not read, so it never
// learns of the FIN and never closes. The kernel runs no timer for its
// CLOSE_WAIT, which lasts as long as the program does; only the
// server's orphan in FIN_WAIT2 has one.
package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	p := edge.NewPair()
	defer p.Close()
	fmt.Println("connected")
	p.PrintSegments()

	// The notes kill the server's child process: its exit closes the
	// socket, which is close(2).
	fmt.Println("server: close()")
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()
	// The server's orphan is freed after net.ipv4.tcp_fin_timeout
	// (60 s by default). The client's only timer is the keepalive Go
	// turns on for every connection (15 s idle).
	fmt.Printf("  timers: client %s; server %s\n", p.Client.Timer(), p.Server.Timer())
	// Without keepalive, as the notes' C client runs, CLOSE_WAIT has
	// no timer at all: only our close() ends it.
	fmt.Println("client: SetKeepAlive(false)")
	check(p.Client.SetKeepAlive(false))
	fmt.Printf("  timers: client %s\n", p.Client.Timer())

	// The user types a line at last: the client writes it before it
	// reads, as the notes' echo_cli does. The server's socket is
	// closed and can take no data: it answers with a reset.
	n, err := unix.Write(p.Client.FD, []byte("a\n"))
	fmt.Printf("client: write(\"a\\n\") = %s\n", edge.Ret(n, err))
	p.Client.WaitState("CLOSED")
	p.Server.WaitState("CLOSED")
	p.PrintSegments()
	p.PrintStates()

	// Its readline then reads 0, the FIN that came before the reset,
	// and prints "server close" as the notes saw: in CLOSE_WAIT,
	// tcp_reset records EPIPE, not ECONNRESET, and a read at end of
	// file returns 0 before it looks at the error, which stays
	// pending in SO_ERROR.
	n, err = unix.Read(p.Client.FD, make([]byte, 64))
	fmt.Printf("client: read() = %s\n", edge.Ret(n, err))
	soerr, err := unix.GetsockoptInt(p.Client.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	fmt.Printf("client: getsockopt(SO_ERROR) = %s\n", edge.Describe(unix.Errno(soerr)))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
