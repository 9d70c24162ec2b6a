// Reuse-port proves how SO_REUSEPORT differs from SO_REUSEADDR: it
// lets several live listening sockets share one port, which
// SO_REUSEADDR never does on Linux, provided every one of them sets
// it. It runs in a network namespace of its own, so that no other
// program can take the port meanwhile.
package main

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	h := edge.NewHost("host")
	defer h.Close()
	h.Do(func() {
		s := edge.NewQuietScene()
		defer s.Close()

		edge.Println("two listeners, both with SO_REUSEADDR (Go's default):")
		twoListeners(s, opts{}, opts{})
		edge.Println("two listeners, both with SO_REUSEPORT:")
		twoListeners(s, opts{reusePort: true}, opts{reusePort: true})
		edge.Println("two listeners, only the second with SO_REUSEPORT:")
		twoListeners(s, opts{}, opts{reusePort: true})

		edge.Println("over a TIME_WAIT, both without SO_REUSEADDR, both with SO_REUSEPORT:")
		noAddr := opts{noReuseAddr: true, reusePort: true}
		ln, err := listen(s, "127.0.0.1:0", noAddr)
		edge.Check(err, "listen")
		client := s.Dial("client", ln.Addr())
		server := s.Accept(ln, "server")
		check(ln.Close())
		server.Close()
		server.WaitState("FIN_WAIT2")
		client.Close()
		server.WaitState("TIME_WAIT")
		ln, err = listen(s, ln.Addr().String(), noAddr)
		edge.Printf("  old connection %s; listen: %s\n", server.State(), s.Describe(err))
		if err == nil {
			ln.Close()
		}
	})
}

// opts are the options set on a listening socket on top of Go's
// (SO_REUSEADDR on, SO_REUSEPORT off).
type opts struct{ noReuseAddr, reusePort bool }

// twoListeners listens with first, then on the same port with second,
// and prints what the kernel says of each.
func twoListeners(s *edge.Scene, first, second opts) {
	//tcpedges:show
	ln1, err := listen(s, "127.0.0.1:0", first)
	edge.Check(err, "listen")
	defer ln1.Close()
	ln2, err := listen(s, ln1.Addr().String(), second)
	//tcpedges:end
	edge.Printf("  first %s; second: %s", state(ln1), s.Describe(err))
	if err == nil {
		edge.Printf(", %s", state(ln2))
		defer ln2.Close()
	}
	edge.Println()
}

// listen listens on addr over TCP with o set before bind.
func listen(s *edge.Scene, addr string, o opts) (*net.TCPListener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		//tcpedges:show
		c.Control(func(fd uintptr) {
			if o.noReuseAddr {
				err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 0)
			}
			if err == nil && o.reusePort {
				err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		//tcpedges:end
		return err
	}}
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	s.Name(l.Addr(), "server")
	return l.(*net.TCPListener), nil
}

// state is a listening socket's TCP state, from TCP_INFO.
func state(ln *net.TCPListener) string {
	raw, err := ln.SyscallConn()
	check(err)
	var st string
	check(raw.Control(func(fd uintptr) { st, err = edge.FDState(int(fd)) }))
	check(err)
	return st
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
