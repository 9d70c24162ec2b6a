// Host-reboot proves what the client sees when the server host
// crashes and comes back without its connections: the client's next
// segment reaches a kernel with no record of the connection, which
// answers with RST (RFC 9293 3.10.7.1). The write that sent it
// succeeded; the next read fails with ECONNRESET and a write after
// that with EPIPE.
package main

import (
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	p := lab.Pair()
	defer p.Close()
	edge.Println("connected")
	p.PrintSegments()

	//tcpedges:show
	edge.Println("the server host crashes and reboots: its sockets are gone, and it sent nothing")
	lab.Crash()
	lab.Reboot(p.Server)
	p.PrintSegments()

	edge.Println(`client: write("ping")`)
	n, err := unix.Write(p.Client.FD, []byte("ping"))
	// The server's RST comes back at once: tcp_reset moves the client
	// to CLOSED and sets ECONNRESET. Wait for it, so that it is always
	// printed before what follows, whether it came during the write or
	// just after.
	p.Client.WaitState("CLOSED")
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	n, err = unix.Read(p.Client.FD, make([]byte, 64))
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	n, err = unix.SendmsgN(p.Client.FD, []byte("ping"), nil, nil, unix.MSG_NOSIGNAL)
	edge.Printf("client: send(MSG_NOSIGNAL) = %s\n", edge.Ret(n, err))
	//tcpedges:end
	p.PrintSegments()
	edge.Printf("  states: client %s\n", p.Client.State())
}
