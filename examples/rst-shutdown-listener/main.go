// Rst-shutdown-listener proves that shutdown can send an RST: on a
// listening socket, shutdown(SHUT_RD) stops the listener the way
// close() does, and resets every connection still waiting in its
// accept queue. shutdown(SHUT_WR) on a listener does nothing at all.
package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	s := edge.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()
	client := s.Dial("client", ln.Addr())
	defer client.Close()
	fmt.Println("client: connected; the server has not called accept()")
	s.PrintSegments()

	raw, err := ln.SyscallConn()
	check(err)
	check(raw.Control(func(fd uintptr) {
		lfd := int(fd)
		//tcpedges:show
		fmt.Println("server: shutdown(listener, SHUT_WR)")
		check(unix.Shutdown(lfd, unix.SHUT_WR))
		s.PrintSegments()
		st, err := edge.FDState(lfd)
		check(err)
		fmt.Printf("  states: client %s, server %s\n", client.State(), st)

		// inet_shutdown hands a listener shut for reading to
		// tcp_disconnect, which stops it (inet_csk_listen_stop):
		// every queued connection is reset.
		fmt.Println("server: shutdown(listener, SHUT_RD)")
		check(unix.Shutdown(lfd, unix.SHUT_RD))
		client.WaitState("CLOSED")
		s.PrintSegments()
		st, err = edge.FDState(lfd)
		check(err)
		fmt.Printf("  states: client %s, server %s\n", client.State(), st)

		nfd, _, err := unix.Accept(lfd)
		fmt.Printf("server: accept() = %s\n", edge.Ret(nfd, err))
		//tcpedges:end
	}))
	n, err := client.Read(make([]byte, 64))
	fmt.Printf("client: conn.Read = %d, err %s\n", n, s.Describe(err))
}

func check(err error) { edge.Check(err, "unexpected error") }
