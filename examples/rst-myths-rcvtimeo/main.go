// Rst-myths-rcvtimeo tests a claim of the notes: "when a receive
// timeout (SO_RCVTIMEO) expires, an RST is sent". It is false: the
// blocked read returns -1 EAGAIN, nothing is sent, and the connection
// stays as it was. Go's read deadline is the same story with its own
// timer: "i/o timeout", no segment.
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	p := edge.NewPair()
	defer p.Close()
	fmt.Println("connected")
	p.PrintSegments()

	// SO_RCVTIMEO bounds a blocking read; Go's sockets are
	// non-blocking, so make this one blocking, as in C. The 10ms wait
	// is the point of the example.
	check(unix.SetNonblock(p.Client.FD, false))
	tv := unix.NsecToTimeval((10 * time.Millisecond).Nanoseconds())
	check(unix.SetsockoptTimeval(p.Client.FD, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv))
	fmt.Println("client: setsockopt(SO_RCVTIMEO, 10ms), read() with nothing to read")
	n, err := unix.Read(p.Client.FD, make([]byte, 64))
	fmt.Printf("client: read() = %s\n", edge.Ret(n, err))
	p.PrintSegments()
	p.PrintStates()
	check(unix.SetNonblock(p.Client.FD, true))

	// Go's way: a deadline, kept by the runtime's poller.
	fmt.Println("client: conn.SetReadDeadline(now + 10ms), conn.Read")
	check(p.Client.SetReadDeadline(time.Now().Add(10 * time.Millisecond)))
	n, err = p.Client.Read(make([]byte, 64))
	fmt.Printf("client: conn.Read = %d, err %s, errors.Is(err, os.ErrDeadlineExceeded) %v\n",
		n, p.Describe(err), errors.Is(err, os.ErrDeadlineExceeded))
	p.PrintSegments()
	p.PrintStates()

	// The connection still works both ways.
	check(p.Client.SetReadDeadline(time.Time{}))
	_, err = p.Server.Write([]byte("late"))
	check(err)
	buf := make([]byte, 64)
	n, err = p.Client.Read(buf)
	fmt.Printf("client: conn.Read = %d %q, err %s\n", n, buf[:n], p.Describe(err))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
