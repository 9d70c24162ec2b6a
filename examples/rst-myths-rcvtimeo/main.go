// Rst-myths-rcvtimeo tests a common belief: "when a receive timeout
// (SO_RCVTIMEO) expires, an RST is sent". It is false: the
// blocked read returns -1 EAGAIN, nothing is sent, and the connection
// stays as it was. Go's read deadline is the same story with its own
// timer: "i/o timeout", no segment.
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
	edge.Println("client: connect(), server: accept()")
	p := edge.NewPair()
	defer p.Close()
	p.PrintSegments()

	// SO_RCVTIMEO bounds a blocking read; Go's sockets are
	// non-blocking, so make this one blocking, as in C. The wait is
	// the point of the example.
	const timeout = 10 * time.Millisecond
	check(unix.SetNonblock(p.Client.FD, false))
	//tcpedges:show
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	check(unix.SetsockoptTimeval(p.Client.FD, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv))
	edge.Println("client: setsockopt(SO_RCVTIMEO, 10ms), read() with nothing to read")
	n, err := unix.Read(p.Client.FD, make([]byte, 64))
	edge.Gap(timeout) // the read blocked until the timeout
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	p.PrintSegments()
	p.PrintStates()
	//tcpedges:end
	check(unix.SetNonblock(p.Client.FD, true))

	// Go's way: a deadline, kept by the runtime's poller.
	//tcpedges:show
	edge.Println("client: conn.SetReadDeadline(now + 10ms), conn.Read")
	check(p.Client.SetReadDeadline(time.Now().Add(timeout)))
	n, err = p.Client.Read(make([]byte, 64))
	edge.Gap(timeout)
	edge.Printf("client: conn.Read = %d, err %s, errors.Is(err, os.ErrDeadlineExceeded) %v\n",
		n, p.Describe(err), errors.Is(err, os.ErrDeadlineExceeded))
	p.PrintSegments()
	p.PrintStates()
	//tcpedges:end

	// The connection still works both ways.
	check(p.Client.SetReadDeadline(time.Time{}))
	edge.Println(`server: conn.Write("late")`)
	_, err = p.Server.Write([]byte("late"))
	check(err)
	buf := make([]byte, 64)
	n, err = p.Client.Read(buf)
	edge.WaitAcked(p.Server.FD) // the client's ACK too
	edge.Printf("client: conn.Read = %d %q, err %s\n", n, buf[:n], p.Describe(err))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
