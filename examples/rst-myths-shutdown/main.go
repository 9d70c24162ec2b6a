// Rst-myths-shutdown tests a claim of the notes: "close and shutdown
// always send a FIN, not an RST". shutdown does send only a FIN, even
// with unread data: it never resets. close does not: besides the
// unread data and SO_LINGER cases of this chapter, closing a listener
// resets every connection still waiting in its accept queue, and a
// close after shutdown(SHUT_RDWR) still resets when data is unread.
package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()

	fmt.Println("== shutdown(SHUT_RDWR) with unread data, then close()")
	p := edge.NewPair()
	p.PrintSegments()
	_, err := p.Client.Write([]byte("unread"))
	check(err)
	edge.WaitFD(p.Server.FD, unix.POLLIN)
	p.PrintSegments()
	fmt.Println("server: shutdown(SHUT_RDWR)")
	check(unix.Shutdown(p.Server.FD, unix.SHUT_RDWR))
	// tcp_shutdown only ever queues a FIN (tcp_close_state and
	// tcp_send_fin); it does not look at the receive queue.
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()
	// close() does look, and the data is still there.
	fmt.Println("server: close()")
	p.Server.Close()
	p.Client.WaitState("CLOSED")
	p.PrintSegments()
	p.PrintStates()
	n, err := p.Client.Read(make([]byte, 64))
	fmt.Printf("client: conn.Read = %d, err %s\n", n, p.Describe(err))
	p.Close()

	fmt.Println("== close() of a listener with a connection not yet accepted")
	s := edge.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	client := s.Dial("client", ln.Addr())
	defer client.Close()
	s.PrintSegments()
	fmt.Println("server: close() the listener, without accept()")
	ln.Close()
	// inet_csk_listen_stop hands each queued connection to
	// tcp_disconnect, which resets it.
	client.WaitState("CLOSED")
	s.PrintSegments()
	n, err = client.Read(make([]byte, 64))
	fmt.Printf("client: conn.Read = %d, err %s\n", n, s.Describe(err))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
