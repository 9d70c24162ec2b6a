// Rst-forgotten proves the fifth cause of RST: a segment for a
// connection the host has no record of, as after the peer's host
// restarted. The server forgets its connection without telling the
// client: TCP_REPAIR mode (made for checkpointing, see CRIU) lets a
// socket be closed without sending anything. The client, which cannot
// know, writes; the server's kernel finds no socket for the segment
// and answers with an RST, and the client's next read fails with
// ECONNRESET.
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

	// In repair mode, close() drops the connection silently: no FIN,
	// no RST (tcp_close and tcp_disconnect send nothing for a socket
	// in repair). It needs CAP_NET_ADMIN.
	fmt.Println("server: setsockopt(TCP_REPAIR, 1), close()")
	err := unix.SetsockoptInt(p.Server.FD, unix.IPPROTO_TCP, unix.TCP_REPAIR, 1)
	if err == unix.EPERM {
		edge.Fatalf("TCP_REPAIR needs root: run go run -exec sudo ./examples/%s", edge.Name())
	}
	check(err)
	p.Server.Close()
	p.PrintSegments()
	p.PrintStates()

	// The client sends, as to a live connection.
	n, err := p.Client.Write([]byte("anyone?"))
	fmt.Printf("client: conn.Write(\"anyone?\") = %d, err %s\n", n, p.Describe(err))
	// No socket matches the segment: tcp_v4_rcv answers for the host
	// with tcp_v4_send_reset.
	p.Client.WaitState("CLOSED")
	p.PrintSegments()
	p.PrintStates()

	buf := make([]byte, 64)
	n, err = p.Client.Read(buf)
	fmt.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
