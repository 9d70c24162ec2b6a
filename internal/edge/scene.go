package edge

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Scene is the stage of an example: the sockets it names, a capture
// of their segments on loopback, and sock_diag to ask their state. An
// endpoint is shown in the capture, and in errors, by the role it was
// named with ("client", "server", "client2"): never by its port.
//
// A listener's role belongs to its address: every connection it
// accepts shares it. A dialed end's role belongs to its connection, not
// to its local address alone: the kernel may give the same local port
// to a later connection to another server, and that connection is not
// the named end's (an HTTP client's new connection once came out of an
// earlier client's port, and showed as that client).
//
// A scene lives in the network namespace of the thread that made it:
// inside [Host.Do], that host's.
type Scene struct {
	capture *Capture
	diag    *netlink.Handle
	mu      sync.Mutex
	names   map[netip.AddrPort]string // roles of addresses: listeners, and what the example names
	conns   map[flow]string           // roles of dialed ends, by their connection: local to remote

	lab        *Lab            // the lab of a scene made by [Lab.NewScene]
	serverDiag *netlink.Handle // sock_diag in the lab's server
}

// NewScene starts a scene, with a capture on loopback.
func NewScene() *Scene {
	s := NewQuietScene()
	var err error
	s.capture, err = newCapture("lo", s.roles)
	Check(err, "start the capture on lo")
	return s
}

// NewQuietScene starts a scene without a capture, for an example about
// what calls return rather than what crosses the wire.
func NewQuietScene() *Scene {
	diag, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
	Check(err, "open sock_diag")
	return &Scene{diag: diag, names: map[netip.AddrPort]string{}, conns: map[flow]string{}}
}

// Name gives the endpoint a role. Segments from or to an endpoint
// without a role are not shown. Name a listener, or a port the example
// bound itself, by its address; a port that connect(2) picked, by its
// connection ([Scene.NameConn]).
func (s *Scene) Name(a net.Addr, role string) {
	ap, err := netip.ParseAddrPort(a.String())
	Check(err, "name "+role)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names[ap] = role
}

// NameConn gives the local end of the connection from local to remote
// a role. The kernel gives a port that connect(2) picks to another
// connection too, when it goes elsewhere: that one stays unnamed.
func (s *Scene) NameConn(local, remote net.Addr, role string) {
	from, err := netip.ParseAddrPort(local.String())
	Check(err, "name "+role)
	to, err := netip.ParseAddrPort(remote.String())
	Check(err, "name "+role)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[flow{from, to}] = role
}

func (s *Scene) role(a netip.AddrPort) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.names[a]
}

// roles names both ends of a segment from one address to another: by
// their connection first, then by their address.
func (s *Scene) roles(from, to netip.AddrPort) (src, dst string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if src = s.conns[flow{from, to}]; src == "" {
		src = s.names[from]
	}
	if dst = s.conns[flow{to, from}]; dst == "" {
		dst = s.names[to]
	}
	return src, dst
}

// Listen listens on 127.0.0.1, on a port the kernel picks, as role.
//
// Since Go 1.24, net.Listen opens an MPTCP socket where the kernel
// has MPTCP, which falls back to TCP for a plain TCP client. The
// examples are about TCP, so they ask for TCP from the start.
//
// In a lab's scene ([Lab.NewScene]) it listens in the server host, on
// the server's address.
func (s *Scene) Listen(role string) *net.TCPListener {
	if s.lab != nil {
		return s.listenIn(role)
	}
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	Check(err, "listen on 127.0.0.1")
	s.Name(l.Addr(), role)
	return l.(*net.TCPListener)
}

// Dial connects to addr as role, and waits for the handshake. In a
// lab's scene it connects from the client host.
func (s *Scene) Dial(role string, addr net.Addr) *End {
	var c *net.TCPConn
	dial := func() {
		var err error
		c, err = net.DialTCP("tcp", nil, addr.(*net.TCPAddr))
		Check(err, role+": connect")
	}
	if s.lab != nil {
		s.lab.Client.Do(dial)
	} else {
		dial()
	}
	return s.End(role, c)
}

// Accept accepts a connection from ln, as role.
func (s *Scene) Accept(ln *net.TCPListener, role string) *End {
	c, err := ln.AcceptTCP()
	Check(err, role+": accept")
	return s.End(role, c)
}

// End wraps a connection as an [End] named role. A connected socket's
// local address is its own; an accepted one shares the listener's.
func (s *Scene) End(role string, c *net.TCPConn) *End {
	e := &End{TCPConn: c, Name: role, diag: s.diag}
	e.local = c.LocalAddr().(*net.TCPAddr)
	e.remote = c.RemoteAddr().(*net.TCPAddr)
	if s.lab != nil && e.local.AddrPort().Addr().Unmap() == s.lab.ServerAddr {
		e.diag = s.serverDiag
	}
	if s.role(e.local.AddrPort()) == "" {
		s.NameConn(e.local, e.remote, role)
	}
	raw, err := c.SyscallConn()
	Check(err, "syscall conn")
	Check(raw.Control(func(fd uintptr) { e.FD = int(fd) }), "descriptor")
	return e
}

// PrintSegments prints, indented, the segments between named
// endpoints since the last line printed, or "(no segment)". Call it
// once the last segment has had its effect on its receiver (see
// [Capture.Segments]). Segments print by themselves before every line
// printed with [Printf] or [Println]: this is for the end of a step.
func (s *Scene) PrintSegments() { PrintSegments() }

// Describe is [Describe] with every named address replaced by its role,
// so that no port number shows: "write tcp client->server: ...".
func (s *Scene) Describe(err error) string {
	d := Describe(err)
	s.mu.Lock()
	defer s.mu.Unlock()
	for f, role := range s.conns {
		from, to := f.from.String(), f.to.String()
		d = strings.ReplaceAll(d, from+"->"+to, role+"->"+to)
		d = strings.ReplaceAll(d, to+"->"+from, to+"->"+role)
	}
	for ap, role := range s.names {
		d = strings.ReplaceAll(d, ap.String(), role)
	}
	return d
}

// Close ends the capture and sock_diag. Sockets are the example's to
// close.
func (s *Scene) Close() {
	stayIfEnding()
	if s.capture != nil {
		s.capture.Close()
	}
	s.diag.Close()
	if s.serverDiag != nil {
		s.serverDiag.Close()
	}
}
