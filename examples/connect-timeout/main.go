// Connect-timeout proves what a connect that gets no answer looks
// like: the SYN is dropped (here by a listener whose accept queue is
// full), a non-blocking connect says EINPROGRESS and then, while the
// socket is still in SYN_SENT, EALREADY; and net.Dialer, which does
// the same connect and waits for writability, gives up at its Timeout
// with "i/o timeout" and sends nothing more.
package main

import (
	"errors"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	// A host of our own: its loopback, its listeners, its counters.
	h := edge.NewHost("server")
	h.Do(run)
}

func run() {
	s := edge.NewScene()
	defer s.Close()

	// listen(fd, 0): an accept queue of one connection (see the
	// backlog examples), filled by a first client nobody accepts.
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket")
	defer unix.Close(lfd)
	check(unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	check(unix.Listen(lfd, 0))
	addr := edge.FDAddr(lfd)
	s.Name(addr, "server")
	edge.Println("client: connect()")
	first := s.Dial("client", addr)
	defer first.Close()
	// The listener is readable once the connection is in its queue.
	edge.WaitFD(lfd, unix.POLLIN)
	q, backlog := edge.ListenerQueue(addr)
	edge.Printf("server: accept queue %d of backlog %d, full\n", q, backlog)

	edge.Println("# a non-blocking connect")
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket")
	server := &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}}
	//tcpedges:show
	edge.Println("client2: connect()")
	err = unix.Connect(fd, server)
	s.NameConn(edge.FDAddr(fd), addr, "client2")
	// The listener drops the SYN (tcp_conn_request: the accept queue is
	// full) and counts it in ListenOverflows. The next SYN would leave
	// after the initial retransmission timeout, one second
	// (TCP_TIMEOUT_INIT, RFC 6298 2.1): until then the socket stays in
	// SYN_SENT, and connect says the attempt is under way.
	// What the socket says is asked first, and printed after: the
	// socket must be closed before that second SYN, also on a machine
	// that prints slowly. Closing it in SYN_SENT sends nothing
	// (tcp_close).
	dropped := edge.WaitTCPExtCounter("ListenOverflows", 1)
	again := unix.Connect(fd, server)
	st, stErr := edge.FDState(fd)
	check(stErr)
	events := edge.Events(fd)
	unix.Close(fd)
	edge.Printf("client2: connect() = %s\n", edge.Ret(0, err))
	edge.Printf("server: SYNs dropped on overflow: %d\n", dropped)
	edge.Printf("client2: connect() again = %s\n", edge.Ret(0, again))
	edge.Printf("client2: %s, poll events %s\n", st, events)
	//tcpedges:end
	s.PrintSegments()

	edge.Println("# net.Dialer with Timeout 50ms")
	sent := false // Go's connect, and its SYN, follow Control at once
	d := net.Dialer{
		Timeout: 50 * time.Millisecond,
		// Only so that the capture can name the dialer's port: bind
		// it before Go's connect picks one.
		Control: func(_, _ string, c syscall.RawConn) error {
			sent = true
			return c.Control(func(fd uintptr) {
				check(unix.Bind(int(fd), &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
				s.Name(edge.FDAddr(int(fd)), "dialer")
			})
		},
	}
	d.SetMultipathTCP(false)
	//tcpedges:show
	edge.Println(`dialer: d.Dial("tcp", server)`)
	c, err := d.Dial("tcp", addr.String())
	//tcpedges:end
	// On a busy machine the 50 ms can run out before Go has made the
	// socket, and then nothing is sent: dial again.
	for !sent {
		c, err = d.Dial("tcp", addr.String())
	}
	if err == nil {
		c.Close()
	}
	//tcpedges:show
	// The SYN went unanswered for the dialer's Timeout.
	edge.Gap(d.Timeout)
	// Test a dial timeout with Timeout(). errors.Is(err,
	// context.DeadlineExceeded) is true or false from run to run: it
	// depends on whether the poller's write deadline or the context's
	// timer is seen first (netFD.connect).
	var ne net.Error
	edge.Printf("dialer: err %s\n", s.Describe(err))
	edge.Printf("  net.Error Timeout() %v\n", errors.As(err, &ne) && ne.Timeout())
	//tcpedges:end
	edge.Printf("server: SYNs dropped on overflow: %d\n", edge.WaitTCPExtCounter("ListenOverflows", 2))
	s.PrintSegments()
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
