// Rst-shutdown-listener proves that shutdown can send an RST: on a
// listening socket, shutdown(SHUT_RD) stops the listener the way
// close() does, and resets every connection still waiting in its
// accept queue. shutdown(SHUT_WR) on a listener does nothing at all.
package main

import (
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	s := edge.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()
	edge.Println("client: connect(); the server does not call accept()")
	client := s.Dial("client", ln.Addr())
	defer client.Close()
	s.PrintSegments()

	raw, err := ln.SyscallConn()
	check(err)
	check(raw.Control(func(fd uintptr) {
		lfd := int(fd)
		//tcpedges:show
		edge.Println("server: shutdown(listener, SHUT_WR)")
		check(unix.Shutdown(lfd, unix.SHUT_WR))
		s.PrintSegments()
		st, err := edge.FDState(lfd)
		check(err)
		edge.Printf("  states: client %s, server %s\n", client.State(), st)

		// inet_shutdown hands a listener shut for reading to
		// tcp_disconnect, which stops it (inet_csk_listen_stop):
		// every queued connection is reset.
		edge.Println("server: shutdown(listener, SHUT_RD)")
		check(unix.Shutdown(lfd, unix.SHUT_RD))
		client.WaitState("CLOSED")
		s.PrintSegments()
		st, err = edge.FDState(lfd)
		check(err)
		edge.Printf("  states: client %s, server %s\n", client.State(), st)

		nfd, _, err := unix.Accept(lfd)
		if err != unix.EINVAL {
			// Out of descriptors, say (EMFILE): another story.
			edge.Fatalf("server: accept() = %s, where the story needs EINVAL", edge.Ret(nfd, err))
		}
		edge.Printf("server: accept() = %s\n", edge.Ret(nfd, err))
		//tcpedges:end
	}))
	n, err := client.Read(make([]byte, 64))
	edge.Printf("client: conn.Read = %d, err %s\n", n, s.Describe(err))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
