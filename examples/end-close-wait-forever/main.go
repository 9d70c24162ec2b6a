// End-close-wait-forever replays the classic echo client blocked in
// fgets (UNIX Network Programming's str_cli, §5.12): the server
// closes, the client does not read, so it never learns of the FIN and
// never closes. The kernel runs no timer for its CLOSE_WAIT, which
// lasts until the program closes the socket or the peer resets it;
// only the server's orphan in FIN_WAIT2 has one.
package main

import (
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	p := edge.NewPair()
	defer p.Close()
	edge.Println("connected")

	//tcpedges:show
	// The server's child process is killed: its exit closes the
	// socket, which is close(2).
	edge.Println("server: close()")
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()
	// The server's orphan is freed after net.ipv4.tcp_fin_timeout
	// (60 s by default). The client's only timer is the keepalive Go
	// turns on for every connection (15 s idle), armed when the
	// connection was made: read to 15 s, it is "at most 15 s", however
	// late a slow machine reads it.
	edge.Printf("  timers: client %s; server %s\n", p.Client.TimerWithin(15*time.Second), finTimeout(p.Server))
	// Without keepalive, as a C client runs, CLOSE_WAIT has
	// no timer at all: only our close() ends it.
	edge.Println("client: SetKeepAlive(false)")
	check(p.Client.SetKeepAlive(false))
	edge.Printf("  timers: client %s\n", p.Client.Timer())

	// The user types a line at last: the client writes it before it
	// reads, as str_cli does. The server's socket is
	// closed and can take no data: it answers with a reset.
	// The reset may come back before write returns or just after: the
	// program waits for it before it prints what write returned.
	edge.Println(`client: write("a\n")`)
	n, err := unix.Write(p.Client.FD, []byte("a\n"))
	p.Client.WaitState("CLOSED")
	p.Server.WaitState("CLOSED")
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	p.PrintStates()

	// Its readline then reads 0, the FIN that came before the reset,
	// and str_cli prints "server terminated prematurely": in CLOSE_WAIT,
	// tcp_reset records EPIPE, not ECONNRESET, and a read at end of
	// file returns 0 before it looks at the error, which stays
	// pending in SO_ERROR.
	n, err = unix.Read(p.Client.FD, make([]byte, 64))
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	soerr, err := unix.GetsockoptInt(p.Client.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	edge.Printf("client: getsockopt(SO_ERROR) = %s\n", edge.Describe(unix.Errno(soerr)))
	//tcpedges:end
}

// finTimeout is the timer of an orphan in FIN_WAIT2, whose end
// tcp_fin_timeout sets: "FIN_WAIT2 timeout, 60 s". The kernel runs it
// on one of two timers, and which one is a race inside the kernel:
// usually the orphan becomes a timewait socket, on its timer
// (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo) in __tcp_close); but when
// the ACK of its FIN comes while close() still holds the socket's
// lock, after __tcp_close looked, tcp_rcv_state_process keeps the full
// socket, on its keepalive timer (its "Bad case"). Seen once under
// qemu on Linux 6.12. Any other timer is printed as it is.
func finTimeout(e *edge.End) string {
	timer := e.TimerWithin(5 * time.Second)
	name, left, _ := strings.Cut(timer, ", ")
	if name != "timewait" && name != "keepalive" {
		return timer
	}
	return "FIN_WAIT2 timeout, " + left
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
