// End-server-closes-first proves the mirror image: when the server
// closes first, the server ends in TIME_WAIT, even though it keeps
// its socket open. The kernel then reports two things for it: our
// socket is CLOSED (TCP_INFO), the connection is in TIME_WAIT
// (sock_diag).
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
	edge.Println("connected")

	//tcpedges:show
	// shutdown(SHUT_WR) sends the same FIN as close(2), but leaves
	// the socket in our hands, so TCP_INFO can still be asked.
	edge.Println("server: shutdown(SHUT_WR)")
	check(unix.Shutdown(p.Server.FD, unix.SHUT_WR))
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()

	n, err := unix.Read(p.Client.FD, make([]byte, 64))
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	edge.Println("client: close()")
	p.Client.Close()
	p.Server.WaitState("TIME_WAIT")
	p.Client.WaitState("CLOSED")
	p.PrintSegments()
	p.PrintStates()
	//tcpedges:end

	// tcp_time_wait hands the connection to a small timewait socket,
	// which is all the kernel keeps for it, and closes ours.
	info, err := unix.GetsockoptTCPInfo(p.Server.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	check(err)
	edge.Printf("server: TCP_INFO state %s, sock_diag state %s, timer %s\n",
		edge.StateName(info.State), edge.StateName(p.Server.Diag().State),
		p.Server.TimerWithin(10*time.Second))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
