// Rst-myths-shutdown tests a common belief: "close and shutdown always
// send a FIN, not an RST". shutdown of a connection sends only a FIN,
// even with unread data (after SHUT_RDWR, though, the peer's next data
// draws an RST: see read-after-shutdown-rdwr). close does not: besides
// the unread data and SO_LINGER cases of this chapter, closing a
// listener resets every connection still waiting in its accept queue,
// and a close after shutdown(SHUT_RDWR) still resets when data is
// unread.
package main

import (
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()

	edge.Println("== shutdown(SHUT_RDWR) with unread data, then close()")
	p := edge.NewPair()
	p.PrintSegments()
	edge.Println(`client: conn.Write("unread")`)
	_, err := p.Client.Write([]byte("unread"))
	check(err)
	edge.WaitAcked(p.Client.FD)
	p.PrintSegments()
	//tcpedges:show
	edge.Println("server: shutdown(SHUT_RDWR)")
	check(unix.Shutdown(p.Server.FD, unix.SHUT_RDWR))
	// tcp_shutdown only ever queues a FIN (tcp_close_state and
	// tcp_send_fin); it does not look at the receive queue.
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()
	// close() does look, and the data is still there.
	edge.Println("server: close()")
	p.Server.Close()
	p.Client.WaitState("CLOSED")
	p.PrintSegments()
	p.PrintStates()
	n, err := p.Client.Read(make([]byte, 64))
	edge.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))
	//tcpedges:end
	p.Close()

	edge.Println("== close() of a listener with a connection not yet accepted")
	s := edge.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	edge.Println("client: connect()")
	client := s.Dial("client", ln.Addr())
	defer client.Close()
	client.WaitRemoteState("ESTABLISHED") // the server has the last ACK
	s.PrintSegments()
	//tcpedges:show
	edge.Println("server: close() the listener, without accept()")
	ln.Close()
	// inet_csk_listen_stop hands each queued connection to
	// tcp_disconnect, which resets it.
	client.WaitState("CLOSED")
	s.PrintSegments()
	n, err = client.Read(make([]byte, 64))
	edge.Printf("client: conn.Read = %d, err %s\n", n, s.Describe(err))
	//tcpedges:end
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
