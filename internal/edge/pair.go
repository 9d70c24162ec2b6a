package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// End is one end of a [Pair]: a Go connection and, for x/sys/unix
// calls, its descriptor.
//
// Go's runtime puts every socket in non-blocking mode, so a raw
// unix.Read on FD returns EAGAIN where a C program would block; the
// examples wait for the kernel state they need before reading.
type End struct {
	*net.TCPConn
	Name string // "client" or "server"
	FD   int    // valid until the connection is closed

	local, remote *net.TCPAddr
	diag          *netlink.Handle // sock_diag, in the end's network namespace
}

// Pair is a TCP connection over loopback, both of whose ends this
// program holds.
type Pair struct {
	Client, Server *End
	capture        *Capture
	saidNoCapture  bool
}

// NewPair listens on 127.0.0.1 on a port the kernel picks, starts a
// capture of that port when it can, connects, accepts and closes the
// listener. The handshake is complete when it returns.
//
// Everything is made in the network namespace of the calling thread:
// inside [Host.Do], on that host's loopback.
func NewPair() *Pair {
	diag, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
	Check(err, "open sock_diag")

	// Since Go 1.24, net.Listen opens an MPTCP socket where the kernel
	// has MPTCP; with a plain TCP client it falls back to TCP. The
	// examples are about TCP, so ask for TCP from the start.
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	var l net.Listener
	l, err = lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	Check(err, "listen on 127.0.0.1")
	ln := l.(*net.TCPListener)
	defer ln.Close()
	server := ln.Addr().(*net.TCPAddr)

	p := &Pair{}
	p.capture = p.startLoopbackCapture(server)
	c, err := net.DialTCP("tcp", nil, server)
	Check(err, "connect to the listener")
	s, err := ln.AcceptTCP()
	Check(err, "accept")
	p.Client = newEnd("client", c, diag)
	p.Server = newEnd("server", s, diag)
	return p
}

func newEnd(name string, c *net.TCPConn, diag *netlink.Handle) *End {
	e := &End{TCPConn: c, Name: name, diag: diag}
	e.local = c.LocalAddr().(*net.TCPAddr)
	e.remote = c.RemoteAddr().(*net.TCPAddr)
	raw, err := c.SyscallConn()
	Check(err, "syscall conn")
	Check(raw.Control(func(fd uintptr) { e.FD = int(fd) }), "descriptor")
	return e
}

// Close closes both ends and the capture. Ends closed already are
// left as they are.
func (p *Pair) Close() {
	p.Client.TCPConn.Close()
	p.Server.TCPConn.Close()
	if p.capture != nil {
		p.capture.Close()
	}
	p.Client.diag.Close()
}

// open reports whether the Go connection is still open, that is
// whether we still hold the socket.
func (e *End) open() bool {
	raw, err := e.SyscallConn()
	return err == nil && raw.Control(func(uintptr) {}) == nil
}

// State is the kernel's word on this end's TCP state: from TCP_INFO
// while the program holds the socket, from sock_diag once it closed it.
//
// A socket we hold that reaches TIME_WAIT reports CLOSED through
// TCP_INFO: the kernel hands the connection to a small timewait socket
// (tcp_time_wait) and closes ours. State then reports what sock_diag
// sees for the connection, TIME_WAIT.
func (e *End) State() string {
	s, _ := e.state()
	return s
}

// state also says where the state came from, when not from TCP_INFO.
func (e *End) state() (state, note string) {
	if e.open() {
		s, err := FDState(e.FD)
		Check(err, e.Name)
		if s != "CLOSED" {
			return s, ""
		}
		d, err := DiagState(e.diag, e.local, e.remote)
		Check(err, e.Name)
		if d != "CLOSED" {
			return d, "our socket CLOSED, the connection " + d + " in sock_diag"
		}
		return s, ""
	}
	s, err := DiagState(e.diag, e.local, e.remote)
	Check(err, e.Name)
	return s, "closed: sock_diag"
}

// States reports the state of both ends, saying where the state came
// from when the program no longer holds the socket:
//
//	client CLOSE_WAIT, server FIN_WAIT2 (closed: sock_diag)
func (p *Pair) States() string {
	var parts []string
	for _, e := range []*End{p.Client, p.Server} {
		s, note := e.state()
		if note != "" {
			s += " (" + note + ")"
		}
		parts = append(parts, e.Name+" "+s)
	}
	return strings.Join(parts, ", ")
}

// PrintStates prints [Pair.States], indented.
func (p *Pair) PrintStates() {
	fmt.Println("  states: " + p.States())
}

// WaitState waits until the kernel reports this end in one of the
// given states, and ends the program if that does not happen within
// [Timeout].
func (e *End) WaitState(states ...string) {
	what := fmt.Sprintf("%s to reach %s", e.Name, strings.Join(states, " or "))
	poll(what, func() (bool, string) {
		s := e.State()
		for _, want := range states {
			if s == want {
				return true, ""
			}
		}
		return false, "it is " + s
	})
}

// Describe names an error the way the examples print it: the errno's
// name where there is one, then Go's text with the pair's addresses
// replaced by roles, so that no port number shows.
func (p *Pair) Describe(err error) string {
	s := Describe(err)
	for _, e := range []*End{p.Client, p.Server} {
		s = strings.ReplaceAll(s, e.local.String(), e.Name)
	}
	return s
}

// startLoopbackCapture starts capturing the pair's segments on lo, or
// returns nil when the program may not (capture needs root).
func (p *Pair) startLoopbackCapture(server *net.TCPAddr) *Capture {
	c, err := NewCapture("lo", func(a netip.AddrPort) string {
		switch {
		case a == server.AddrPort():
			return "server"
		case p.Client != nil && a == p.Client.local.AddrPort():
			return "client"
		}
		return ""
	})
	if errors.Is(err, unix.EPERM) {
		return nil
	}
	Check(err, "start the capture on lo")
	return c
}

// PrintSegments prints, indented, the segments the pair exchanged
// since the last call. Call it once the last segment has had its
// effect on its receiver (see [Capture.Segments]). Without root it
// says once that the capture was left out.
func (p *Pair) PrintSegments() {
	if p.capture == nil {
		if !p.saidNoCapture {
			fmt.Printf("  (capture left out: it needs root; run go run -exec sudo ./examples/%s)\n", Name())
			p.saidNoCapture = true
		}
		return
	}
	segs := p.capture.Segments()
	if len(segs) == 0 {
		fmt.Println("  (no segment)")
	}
	for _, s := range segs {
		fmt.Println("  " + s)
	}
}
