// Reuse-addr-matrix proves which sockets may bind a port that a
// connection in TIME_WAIT still uses: for the four combinations of
// SO_REUSEADDR on the old listening socket and on the new one, it
// leaves a TIME_WAIT connection on the server's port and binds a new
// socket to that port. Only with SO_REUSEADDR on both does bind
// succeed. It runs in a network namespace of its own, so that no other
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
		for _, old := range []int{0, 1} {
			for _, new := range []int{0, 1} {
				server := timeWaitOn(s, old)
				edge.Printf("old SO_REUSEADDR=%d, new SO_REUSEADDR=%d: server %s, ",
					old, new, server.State())
				port := server.LocalAddr().(*net.TCPAddr).Port

				//tcpedges:show
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				edge.Check(err, "socket")
				check(unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, new))
				err = unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
				edge.Printf("bind() = %s", edge.Ret(0, err))
				if err == nil {
					edge.Printf(", listen() = %s", edge.Ret(0, unix.Listen(fd, 1)))
				}
				edge.Println()
				//tcpedges:end
				unix.Close(fd)
			}
		}
	})
}

// timeWaitOn leaves a connection in TIME_WAIT on the port of a server
// whose listening socket had SO_REUSEADDR set to reuse, closes that
// listener, and returns the server's end. The accepted socket inherits the
// option from the listener, and its timewait socket from it.
func timeWaitOn(s *edge.Scene, reuse int) *edge.End {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		// Go has set SO_REUSEADDR already (see reuse-go-restart);
		// Control runs after that and before bind.
		var err error
		c.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, reuse)
		})
		return err
	}}
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	edge.Check(err, "listen")
	ln := l.(*net.TCPListener)
	s.Name(ln.Addr(), "server")
	client := s.Dial("client", ln.Addr())
	server := s.Accept(ln, "server")
	check(ln.Close())
	// The server closes first, so the server's port is the one left
	// in TIME_WAIT.
	server.Close()
	server.WaitState("FIN_WAIT2")
	client.Close()
	server.WaitState("TIME_WAIT")
	return server
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
