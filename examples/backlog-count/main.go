// Backlog-count proves how many connections listen(fd, N) admits
// before anyone calls accept: N+1. Each client connects in turn; the
// handshake completes and the connection waits in the accept queue
// until the queue holds N+1, and the listener drops the next SYN. The
// listener's queues, as sock_diag (and ss -lnt) report them, are the
// connections waiting (Recv-Q) and the backlog (Send-Q).
package main

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	// A host of our own, so that its ListenOverflows counter counts
	// this program's drops only.
	h := edge.NewHost("server")
	h.Do(func() {
		for _, backlog := range []int{0, 1, 2, 5} {
			admit(backlog)
		}
	})
}

// admit listens with backlog and connects clients until the listener
// drops a SYN.
func admit(backlog int) {
	lfd := socket()
	defer unix.Close(lfd)
	check(unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	//tcpedges:show
	check(unix.Listen(lfd, backlog))
	//tcpedges:end
	addr := edge.FDAddr(lfd)
	server := &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte{127, 0, 0, 1}}
	edge.Printf("listen(fd, %d)\n", backlog)

	queued, dropped := uint32(0), edge.TCPExtCounter("ListenOverflows")
	var clients []string
	for i := 1; ; i++ {
		fd := socket()
		defer unix.Close(fd)
		//tcpedges:show
		err := unix.Connect(fd, server)
		if err != unix.EINPROGRESS {
			edge.Fatalf("client%d: connect() = %s", i, edge.Ret(0, err))
		}
		// Wait for the listener's decision: queue it, or drop its SYN
		// (tcp_conn_request: sk_acceptq_is_full, which is true only
		// when the queue holds more than the backlog).
		q, d := edge.WaitSYNOutcome(addr, queued, dropped)
		st, err := edge.FDState(fd)
		check(err)
		//tcpedges:end
		if d > dropped {
			clients = append(clients, fmt.Sprintf("client%d %s (SYN dropped)", i, st))
			break
		}
		clients = append(clients, fmt.Sprintf("client%d %s", i, st))
		queued = q
	}
	edge.Printf("  %s\n", strings.Join(clients, ", "))
	//tcpedges:show
	recvQ, sendQ := edge.ListenerQueue(addr)
	//tcpedges:end
	edge.Printf("  admitted %d; sock_diag: LISTEN Recv-Q %d Send-Q %d\n", queued, recvQ, sendQ)
}

func socket() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket")
	return fd
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
