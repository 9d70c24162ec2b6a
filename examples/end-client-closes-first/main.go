// End-client-closes-first proves who ends in TIME_WAIT: the side that
// closes first. The client closes, the server reads 0 and closes too;
// the client's connection stays in TIME_WAIT, the server's is gone.
// Each state is the kernel's report, through TCP_INFO or sock_diag.
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
	p.PrintStates()

	//tcpedges:show
	// The active close: conn.Close is close(2), which sends a FIN and the client enters
	// FIN_WAIT1; the server's ACK moves it on to FIN_WAIT2.
	edge.Println("client: close()")
	p.Client.Close()
	p.Client.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()

	// The passive close: the server learns of the FIN by reading 0,
	// and closes in turn. Its FIN reaches the client in FIN_WAIT2,
	// which acknowledges it and enters TIME_WAIT; that ACK frees the
	// server's socket.
	n, err := unix.Read(p.Server.FD, make([]byte, 64))
	edge.Printf("server: read() = %s\n", edge.Ret(n, err))
	edge.Println("server: close()")
	p.Server.Close()
	p.Client.WaitState("TIME_WAIT")
	p.Server.WaitState("CLOSED")
	p.PrintSegments()
	p.PrintStates()
	edge.Printf("  client timer: %s\n", p.Client.TimerWithin(10*time.Second))
	//tcpedges:end
}
