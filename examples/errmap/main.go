// Errmap provokes, on real connections, each error a Go program meets
// at the end of a TCP connection, and prints a Markdown table: the
// error as it appears in a log (addresses replaced by roles), which
// of the usual sentinels errors.Is matches, what it means, and the
// example that shows it step by step. The book shows this table as
// printed here.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

// The errors a caller usually tests for.
var sentinels = []struct {
	name string
	err  error
}{
	{"io.EOF", io.EOF},
	{"syscall.ECONNRESET", syscall.ECONNRESET},
	{"syscall.EPIPE", syscall.EPIPE},
	{"net.ErrClosed", net.ErrClosed},
	{"os.ErrDeadlineExceeded", os.ErrDeadlineExceeded},
}

func main() {
	edge.ParseFlags()
	s := edge.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()
	connect := func() (client, server *edge.End) {
		return s.Dial("client", ln.Addr()), s.Accept(ln, "server")
	}

	fmt.Println("| You see in your log | `errors.Is` is true for | It means | Shown in |")
	fmt.Println("|---|---|---|---|")

	c, srv := connect()
	closePeer(srv)
	row(c, read(c), "The peer closed (a FIN): it will send nothing more. A clean end.",
		"read-after-close")
	_, err := c.Write([]byte("hello"))
	check(err) // accepted: the peer's FIN closed only its direction
	edge.WaitFD(c.FD, unix.POLLERR)
	row(c, write(c), "The peer closed, our last write got an RST back, and this write "+
		"found it. Read still says EOF.", "pipe-write-after-peer-close")
	c.Close()

	c, srv = connect()
	abortPeer(c, srv)
	row(c, read(c),
		"The peer aborted: an RST with no FIN before it (SO_LINGER 0, "+
			"or a close with data unread).",
		"reset-abortive-close")
	row(c, read(c), "Read again after that ECONNRESET: the reset is reported only once.",
		"reset-abortive-close")
	c.Close()

	c, srv = connect()
	abortPeer(c, srv)
	row(c, write(c), "The same abort, found by a write first.", "reset-abortive-close")
	row(c, write(c), "Any write after the reset was reported.", "reset-abortive-close")
	c.Close()

	c, srv = connect()
	c.Close()
	row(c, read(c), "Our own program closed this connection, then used it: "+
		"a bug on our side, not the network.", "errmap")
	srv.Close()

	c, srv = connect()
	// A deadline already in the past: the read fails at once.
	check(c.SetReadDeadline(time.Now().Add(-time.Second)))
	row(c, read(c), "Our own deadline passed (SetReadDeadline, or a timeout built on "+
		"it). It says nothing about the connection.", "errmap")
	c.Close()
	srv.Close()
}

// closePeer has the server close the connection: the client has the
// FIN.
func closePeer(srv *edge.End) {
	srv.Close()
	srv.WaitState("FIN_WAIT2")
}

// abortPeer has the server abort the connection: the client has the
// RST.
func abortPeer(c, srv *edge.End) {
	check(unix.SetsockoptLinger(srv.FD, unix.SOL_SOCKET, unix.SO_LINGER,
		&unix.Linger{Onoff: 1, Linger: 0}))
	srv.Close()
	edge.WaitFD(c.FD, unix.POLLERR)
}

func read(c *edge.End) error {
	_, err := c.Read(make([]byte, 64))
	return err
}

func write(c *edge.End) error {
	_, err := c.Write([]byte("hello"))
	return err
}

// row prints one line of the table.
func row(c *edge.End, err error, means, example string) {
	if err == nil {
		edge.Fatalf("expected an error for: %s", means)
	}
	var is []string
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			is = append(is, "`"+s.name+"`")
		}
	}
	if len(is) == 0 {
		is = append(is, "none of them")
	}
	// Go's text, with roles for the addresses (as Scene.Describe does).
	roles := strings.NewReplacer(
		c.LocalAddr().String(), "client",
		c.RemoteAddr().String(), "server")
	fmt.Printf("| `%s` | %s | %s | `%s` |\n",
		roles.Replace(err.Error()), strings.Join(is, ", "), means, example)
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
