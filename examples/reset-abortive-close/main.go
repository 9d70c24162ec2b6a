// Reset-abortive-close shows what we see when the peer aborts the
// connection (SO_LINGER with a zero timeout, then close: an RST and no
// FIN). The RST leaves one ECONNRESET in SO_ERROR, and the first call
// to ask — write, read or getsockopt — takes it. After that, write
// fails with EPIPE and SIGPIPE, and read returns 0 as if a FIN had come.
package main

import (
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()

	//tcpedges:show
	edge.Println("# first connection: write, write, read, read")
	c := abort()
	write(c)
	write(c)
	read(c)
	read(c)
	soError(c)
	c.Close()

	edge.Println("# second connection: read, read, write, write")
	c = abort()
	read(c)
	read(c)
	write(c)
	write(c)
	c.Close()

	edge.Println("# third connection: getsockopt(SO_ERROR), then read and write")
	c = abort()
	soError(c)
	soError(c)
	read(c)
	write(c)
	c.Close()
	//tcpedges:end
}

// abort makes a connection whose server aborts it, and returns the
// client once the RST has arrived.
func abort() *edge.Pair {
	p := edge.NewPair()
	p.PrintSegments()

	//tcpedges:show
	// SO_LINGER {on, 0 seconds}: close() discards the connection and
	// sends an RST instead of a FIN (tcp_close, tcp_disconnect). The
	// chapter on the causes of RST has the details.
	edge.Println("server: setsockopt(SO_LINGER, {1, 0}), close()")
	check(unix.SetsockoptLinger(p.Server.FD, unix.SOL_SOCKET, unix.SO_LINGER,
		&unix.Linger{Onoff: 1, Linger: 0}))
	p.Server.Close()

	// tcp_reset: ECONNRESET into SO_ERROR, the socket to CLOSE.
	events := edge.WaitFD(p.Client.FD, unix.POLLERR)
	p.PrintSegments()
	edge.Println("client: poll() =", events)
	p.PrintStates()
	//tcpedges:end
	return p
}

func write(p *edge.Pair) {
	var n int
	var err error
	sig := edge.SignalsDuring(func() {
		n, err = unix.Write(p.Client.FD, []byte("hello"))
	})
	edge.Printf("client: write() = %s, signal raised: %s\n",
		edge.Ret(n, err), edge.SignalName(sig))
}

func read(p *edge.Pair) {
	n, err := unix.Read(p.Client.FD, make([]byte, 64))
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
}

// soError reads SO_ERROR, which also clears it (sock_error).
func soError(p *edge.Pair) {
	e, err := unix.GetsockoptInt(p.Client.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	name := "0"
	if e != 0 {
		name = unix.ErrnoName(unix.Errno(e))
	}
	edge.Printf("client: getsockopt(SO_ERROR) = %s\n", name)
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
