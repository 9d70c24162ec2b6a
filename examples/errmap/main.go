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
	fmt.Println("| You see in your log | `errors.Is` is true for | It means | Shown in |")
	fmt.Println("|---|---|---|---|")

	p := closed()
	row(p, read(p), "The peer closed (a FIN): it will send nothing more. A clean end.",
		"read-after-close")
	_, err := p.Client.Write([]byte("hello"))
	check(err) // accepted: the peer's FIN closed only its direction
	edge.WaitFD(p.Client.FD, unix.POLLERR)
	row(p, write(p), "The peer closed, our last write got an RST back, and this write "+
		"found it. Read still says EOF.", "pipe-write-after-peer-close")
	p.Close()

	p = aborted()
	row(p, read(p),
		"The peer aborted: an RST with no FIN before it (SO_LINGER 0, "+
			"or a close with data unread). Data received before it is still read first.", "reset-abortive-close")
	row(p, read(p), "Read again after that ECONNRESET: the reset is reported only once.",
		"reset-abortive-close")
	p.Close()

	p = aborted()
	row(p, write(p), "The same abort, found by a write first.", "reset-abortive-close")
	row(p, write(p), "Any write after the reset was reported.", "reset-abortive-close")
	p.Close()

	p = edge.NewPair()
	p.Client.Close()
	row(p, read(p), "Our own program closed this connection, then used it: "+
		"a bug on our side, not the network.", "errmap")
	p.Close()

	p = edge.NewPair()
	// A deadline already in the past: the read fails at once.
	check(p.Client.SetReadDeadline(time.Now().Add(-time.Second)))
	row(p, read(p), "Our own deadline passed (SetReadDeadline, or a timeout built on "+
		"it). It says nothing about the connection.", "errmap")
	p.Close()
}

// closed returns a connection whose server has closed it: the client
// has the FIN.
func closed() *edge.Pair {
	p := edge.NewPair()
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	return p
}

// aborted returns a connection whose server has aborted it: the client
// has the RST.
func aborted() *edge.Pair {
	p := edge.NewPair()
	check(unix.SetsockoptLinger(p.Server.FD, unix.SOL_SOCKET, unix.SO_LINGER,
		&unix.Linger{Onoff: 1, Linger: 0}))
	p.Server.Close()
	edge.WaitFD(p.Client.FD, unix.POLLERR)
	return p
}

func read(p *edge.Pair) error {
	_, err := p.Client.Read(make([]byte, 64))
	return err
}

func write(p *edge.Pair) error {
	_, err := p.Client.Write([]byte("hello"))
	return err
}

// row prints one line of the table.
func row(p *edge.Pair, err error, means, example string) {
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
		p.Client.LocalAddr().String(), "client",
		p.Client.RemoteAddr().String(), "server")
	fmt.Printf("| `%s` | %s | %s | `%s` |\n",
		roles.Replace(err.Error()), strings.Join(is, ", "), means, example)
}

func check(err error) { edge.Check(err, "unexpected error") }
