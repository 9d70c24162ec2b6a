package edge

import (
	"fmt"
	"net"
	"strings"

	"github.com/vishvananda/netlink"
)

// End is one end of a connection: a Go connection and, for x/sys/unix
// calls, its descriptor.
//
// Go's runtime puts every socket in non-blocking mode, so a raw
// unix.Read on FD returns EAGAIN where a C program would block; the
// examples wait for the kernel state they need before reading.
type End struct {
	*net.TCPConn
	Name string // its role: "client", "server"
	FD   int    // valid until the connection is closed

	local, remote *net.TCPAddr
	diag          *netlink.Handle // sock_diag, in the end's network namespace
}

// Pair is a TCP connection over loopback, both of whose ends this
// program holds, on a [Scene] of its own.
type Pair struct {
	*Scene
	Client, Server *End
}

// NewPair listens on 127.0.0.1 on a port the kernel picks, starts a
// capture when it can, connects, accepts and closes the listener. The
// handshake is complete when it returns.
func NewPair() *Pair {
	p := &Pair{Scene: NewScene()}
	ln := p.Listen("server")
	defer ln.Close()
	p.Client = p.Dial("client", ln.Addr())
	p.Server = p.Accept(ln, "server")
	return p
}

// Close closes both ends and the scene. Ends closed already are left
// as they are.
func (p *Pair) Close() {
	p.Client.TCPConn.Close()
	p.Server.TCPConn.Close()
	p.Scene.Close()
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
	Println("  states: " + p.States())
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
