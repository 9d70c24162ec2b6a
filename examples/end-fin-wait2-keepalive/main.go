// End-fin-wait2-keepalive proves which timer a FIN_WAIT2 socket that
// the program still holds runs: no FIN_WAIT2 timeout (that is for
// orphans), but the keepalive Go turns on for every connection. The
// server shuts down its sending side; the client never closes.
package main

import (
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	p := edge.NewPair()
	defer p.Close()
	p.PrintSegments()
	edge.Println("connected")

	//tcpedges:show
	edge.Println("server: shutdown(SHUT_WR)")
	check(unix.Shutdown(p.Server.FD, unix.SHUT_WR))
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()
	// tcp_keepalive_timer runs in any state but CLOSED, LISTEN and
	// SYN_SENT: in FIN_WAIT2 it probes the peer like in ESTABLISHED.
	// Rounded up to 5 s: a busy machine may read the 15 s timer more
	// than a second after the kernel armed it.
	edge.Printf("  server timer: %s (Go's default keepalive)\n", p.Server.TimerWithin(5*time.Second))
	edge.Println("server: SetKeepAlive(false)")
	check(p.Server.SetKeepAlive(false))
	edge.Printf("  server timer: %s\n", p.Server.Timer())
	//tcpedges:end
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
