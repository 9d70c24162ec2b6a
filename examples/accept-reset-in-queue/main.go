// Accept-reset-in-queue proves what Linux does with a connection that
// the client resets while it waits in the accept queue: it stays
// there. The listener stays readable, accept returns the connection,
// CLOSED, and the first read on it fails with ECONNRESET; the next
// returns 0. Go's Accept returns it too, and Read says "connection
// reset by peer".
package main

import (
	"net"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	s := edge.NewScene()
	defer s.Close()

	// socket, bind to 127.0.0.1 port 0, listen: the listener, non-blocking.
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket")
	defer unix.Close(lfd)
	check(unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	check(unix.Listen(lfd, 8))
	addr := edge.FDAddr(lfd)
	s.Name(addr, "server")

	edge.Println("client: connect()")
	client := s.Dial("client", addr)
	edge.Printf("server: poll() until POLLIN: %s\n", edge.WaitFD(lfd, unix.POLLIN))
	q, _ := edge.ListenerQueue(addr)
	edge.Printf("server: accept queue %d\n", q)

	//tcpedges:show
	edge.Println("client: SO_LINGER 0, close()")
	check(client.SetLinger(0))
	clientAddr := client.LocalAddr()
	check(client.Close())
	// The RST reaches the queued connection (tcp_reset): it becomes
	// CLOSED, leaves the connection table (sock_diag no longer sees
	// it), and keeps ECONNRESET as its pending error. Nothing takes it
	// out of the accept queue.
	st := edge.WaitConnState(addr, clientAddr.(*net.TCPAddr), "CLOSED")
	edge.Printf("  sock_diag: the queued connection %s\n", st)
	q, _ = edge.ListenerQueue(addr)
	edge.Printf("server: accept queue %d, poll events %s\n", q, edge.Events(lfd))

	fd, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	edge.Check(err, "accept")
	defer unix.Close(fd)
	st, err = edge.FDState(fd)
	check(err)
	edge.Printf("server: accept() = a new descriptor, %s, poll events %s\n", st, edge.Events(fd))
	buf := make([]byte, 64)
	n, err := unix.Read(fd, buf)
	edge.Printf("server: read() = %s\n", edge.Ret(n, err))
	n, err = unix.Read(fd, buf)
	edge.Printf("server: read() again = %s\n", edge.Ret(n, err))
	//tcpedges:end

	edge.Println("# the same with Go's Accept and Read")
	ln := s.Listen("server2")
	defer ln.Close()
	edge.Println("client2: connect()")
	client2 := s.Dial("client2", ln.Addr())
	client2Addr := client2.LocalAddr()
	// Wait for the connection to be in the queue, then reset it.
	edge.WaitConnState(ln.Addr().(*net.TCPAddr), client2Addr.(*net.TCPAddr), "ESTABLISHED")
	edge.Println("client2: SO_LINGER 0, close()")
	check(client2.SetLinger(0))
	check(client2.Close())
	edge.WaitConnState(ln.Addr().(*net.TCPAddr), client2Addr.(*net.TCPAddr), "CLOSED")
	c, err := ln.Accept()
	edge.Printf("server2: Accept: err %s\n", s.Describe(err))
	if err == nil {
		defer c.Close()
		n, err = c.Read(buf)
		edge.Printf("server2: Read = %d, err %s\n", n, s.Describe(err))
		n, err = c.Read(buf)
		edge.Printf("server2: Read again = %d, err %s\n", n, s.Describe(err))
	}
	s.PrintSegments()
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
