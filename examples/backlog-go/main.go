// Backlog-go proves that Go's net.Listen takes its backlog from
// /proc/sys/net/core/somaxconn, and shows two ways to choose one: call
// listen(2) again on the listening socket, which only changes the
// backlog, or make the socket yourself and hand it to
// net.FileListener. ListenConfig.Control cannot: it runs before Go's
// bind and listen.
package main

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	// A host of our own, whose somaxconn we may change: Go reads it
	// once, at the first Listen of the process (net.listenerBacklog).
	h := edge.NewHost("server")
	h.Sysctl("net.core.somaxconn", "64")
	h.Do(run)
}

func run() {
	somaxconn, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	check(err)
	edge.Printf("/proc/sys/net/core/somaxconn: %s\n", strings.TrimSpace(string(somaxconn)))

	edge.Println("# net.Listen")
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	edge.Check(err, "listen")
	defer ln.Close()
	show(ln.Addr())

	edge.Println("# listen(fd, 8) again on the same socket")
	// On a socket that already listens, listen(2) only sets the
	// backlog (inet_listen: sk_max_ack_backlog).
	//tcpedges:show
	raw, err := ln.(*net.TCPListener).SyscallConn()
	check(err)
	check(raw.Control(func(fd uintptr) { check(unix.Listen(int(fd), 8)) }))
	//tcpedges:end
	show(ln.Addr())

	edge.Println("# socket, bind, listen(fd, 8), net.FileListener")
	//tcpedges:show
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	edge.Check(err, "socket")
	check(unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	check(unix.Listen(fd, 8))
	f := os.NewFile(uintptr(fd), "listener")
	// FileListener dups the descriptor: close ours.
	fln, err := net.FileListener(f)
	edge.Check(err, "net.FileListener")
	f.Close()
	//tcpedges:end
	defer fln.Close()
	show(fln.Addr())

	edge.Println("# listen(fd, 100000): the kernel caps it at somaxconn")
	check(raw.Control(func(fd uintptr) { check(unix.Listen(int(fd), 100000)) }))
	show(ln.Addr())

	edge.Println("# listen(fd, 8) in ListenConfig.Control")
	// Control runs after socket(2) and before Go's bind(2) and
	// listen(2): listen there binds the socket to a port of the
	// kernel's choosing, and Go's bind then fails.
	//tcpedges:show
	lc.Control = func(_, _ string, c syscall.RawConn) error {
		var lerr error
		check(c.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), 8) }))
		edge.Printf("  listen(fd, 8) in Control = %s\n", edge.Ret(0, lerr))
		return nil
	}
	_, err = lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	//tcpedges:end
	// err is "listen tcp 127.0.0.1:0: bind: ...": show its cause.
	edge.Printf("ListenConfig.Listen: err %s\n", edge.Describe(errors.Unwrap(err)))
}

// show prints the listener's queues as ss -lnt does.
func show(addr net.Addr) {
	recvQ, sendQ := edge.ListenerQueue(addr)
	edge.Printf("  sock_diag: LISTEN Recv-Q %d Send-Q %d (the backlog)\n", recvQ, sendQ)
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
