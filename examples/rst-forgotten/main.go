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
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	edge.Println("client: connect(), server: accept()")
	p := edge.NewPair()
	defer p.Close()
	p.PrintSegments()

	// In repair mode, close() drops the connection silently: no FIN,
	// no RST (tcp_close and tcp_disconnect send nothing for a socket
	// in repair). It needs CAP_NET_ADMIN over the socket's network
	// namespace, which the example has in its own.
	//tcpedges:show
	edge.Println("server: setsockopt(TCP_REPAIR, 1), close()")
	err := unix.SetsockoptInt(p.Server.FD, unix.IPPROTO_TCP, unix.TCP_REPAIR, 1)
	check(err)
	p.Server.Close()
	p.PrintSegments()
	p.PrintStates()

	// The client sends, as to a live connection.
	edge.Println(`client: conn.Write("anyone?")`)
	n, err := p.Client.Write([]byte("anyone?"))
	// No socket matches the segment: tcp_v4_rcv answers for the host
	// with tcp_v4_send_reset.
	p.Client.WaitState("CLOSED")
	edge.Printf("client: conn.Write = %d, err %s\n", n, p.Describe(err))
	p.PrintStates()

	buf := make([]byte, 64)
	n, err = p.Client.Read(buf)
	edge.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))
	//tcpedges:end
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
