// Accept-nonblocking proves what accept(2) on a non-blocking listener
// does: with no connection in its accept queue it fails at once with
// EAGAIN; once a handshake has completed, poll(2) reports the listener
// readable and accept returns the connection. Go's Accept makes the
// same call and, on EAGAIN, waits in the runtime's poller.
package main

import (
	"errors"
	"os"
	"time"

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

	edge.Println("# empty accept queue")
	//tcpedges:show
	edge.Printf("server: poll events %s\n", edge.Events(lfd))
	fd, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	wantEAGAIN(fd, err)
	edge.Printf("server: accept() = %s\n", edge.Ret(fd, err))

	edge.Println("# a client connects")
	edge.Println("client: connect()")
	client := s.Dial("client", addr)
	defer client.Close()
	// The handshake's last ACK puts the connection in the accept queue
	// (tcp_check_req, inet_csk_complete_hashdance) and wakes the
	// listener: readable means "accept will not fail with EAGAIN".
	edge.Printf("server: poll() until POLLIN: %s\n", edge.WaitFD(lfd, unix.POLLIN))
	q, _ := edge.ListenerQueue(addr)
	edge.Printf("server: accept queue %d\n", q)
	fd, _, err = unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	edge.Check(err, "accept")
	defer unix.Close(fd)
	st, err := edge.FDState(fd)
	check(err)
	edge.Printf("server: accept() = a new descriptor, %s\n", st)
	q, _ = edge.ListenerQueue(addr)
	edge.Printf("server: accept queue %d\n", q)
	fd2, _, err := unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	wantEAGAIN(fd2, err)
	edge.Printf("server: accept() again = %s\n", edge.Ret(fd2, err))
	//tcpedges:end

	edge.Println("# Go's Accept on an empty queue")
	// Go's Accept (internal/poll/fd_unix.go, FD.Accept) calls accept4,
	// and on EAGAIN parks the goroutine until the poller reports the
	// listener readable, or the deadline passes: here after 20ms, as
	// no client comes.
	ln := s.Listen("server2")
	defer ln.Close()
	check(ln.SetDeadline(time.Now().Add(20 * time.Millisecond)))
	_, err = ln.Accept()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		edge.Fatalf("server2: Accept: %s, where the story needs its deadline to pass", s.Describe(err))
	}
	edge.Printf("server2: Accept: err %s\n", s.Describe(err))
}

// wantEAGAIN ends the program unless accept failed with EAGAIN, as the
// story needs: accept takes a descriptor before it looks at the queue,
// so with none left it fails with EMFILE instead.
func wantEAGAIN(fd int, err error) {
	if err != unix.EAGAIN {
		edge.Fatalf("server: accept() = %s, where the story needs EAGAIN", edge.Ret(fd, err))
	}
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
