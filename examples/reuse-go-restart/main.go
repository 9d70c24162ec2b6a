// Reuse-go-restart proves why a Go server restarts cleanly on its old
// port, and when it still gets "address already in use". net.Listen
// sets SO_REUSEADDR on every listening socket (net.Dial does not), so
// bind succeeds over connections in TIME_WAIT, or even still open,
// that the old server left on the port. It fails while a listener
// still holds the port, and over a TIME_WAIT left by a server that did
// not set SO_REUSEADDR. It runs in a network namespace of its own, so
// that no other program can take the port meanwhile.
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

		//tcpedges:show
		// What Go sets underneath, asked back with getsockopt.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		edge.Check(err, "listen")
		ln := l.(*net.TCPListener)
		c := s.Dial("client", ln.Addr())
		edge.Printf("net.Listen: SO_REUSEADDR=%d, SO_REUSEPORT=%d\n",
			sockopt(ln, unix.SO_REUSEADDR), sockopt(ln, unix.SO_REUSEPORT))
		edge.Printf("net.Dial:   SO_REUSEADDR=%d, SO_REUSEPORT=%d\n",
			sockopt(c, unix.SO_REUSEADDR), sockopt(c, unix.SO_REUSEPORT))
		//tcpedges:end
		c.Close()
		ln.Close()

		edge.Println("restart while the old listener is still open:")
		old := listen(s, "127.0.0.1:0", nil)
		_, err = net.Listen("tcp", old.Addr().String())
		edge.Printf("  net.Listen: %s\n", s.Describe(err))
		old.Close()

		edge.Println("restart over a connection in TIME_WAIT:")
		server := oldServer(s, nil)
		server.Close()
		server.WaitState("FIN_WAIT2")
		server.peer.Close()
		server.WaitState("TIME_WAIT")
		restart(s, server)

		edge.Println("restart over a connection still ESTABLISHED:")
		server = oldServer(s, nil)
		restart(s, server)
		server.Close()
		server.peer.Close()

		edge.Println("restart over a TIME_WAIT left by a server without SO_REUSEADDR:")
		server = oldServer(s, func(fd int) error {
			return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 0)
		})
		server.Close()
		server.WaitState("FIN_WAIT2")
		server.peer.Close()
		server.WaitState("TIME_WAIT")
		restart(s, server)
	})
}

// conn is an old server's connection, and the client at its other end.
type conn struct {
	*edge.End
	peer *edge.End
}

// oldServer listens, with control run on the socket before bind,
// accepts one connection and closes the listener, as a server that
// has stopped does; its connection is left as it is.
func oldServer(s *edge.Scene, control func(fd int) error) conn {
	ln := listen(s, "127.0.0.1:0", control)
	defer ln.Close()
	client := s.Dial("client", ln.Addr())
	return conn{End: s.Accept(ln, "server"), peer: client}
}

// restart is the new server: net.Listen on the old server's port.
func restart(s *edge.Scene, old conn) {
	//tcpedges:show
	ln, err := net.Listen("tcp", old.LocalAddr().String())
	edge.Printf("  old connection %s; net.Listen: %s\n", old.State(), s.Describe(err))
	//tcpedges:end
	if err == nil {
		ln.Close()
	}
}

// listen is net.Listen for TCP (not MPTCP), with control run on the
// socket after Go's own options and before bind.
func listen(s *edge.Scene, addr string, control func(fd int) error) *net.TCPListener {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if control != nil {
			c.Control(func(fd uintptr) { err = control(int(fd)) })
		}
		return err
	}}
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp", addr)
	edge.Check(err, "listen")
	s.Name(l.Addr(), "server")
	return l.(*net.TCPListener)
}

// sockopt reads an integer SOL_SOCKET option of a Go socket.
func sockopt(c syscall.Conn, opt int) int {
	raw, err := c.SyscallConn()
	check(err)
	var v int
	check(raw.Control(func(fd uintptr) {
		v, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt)
	}))
	check(err)
	return v
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
