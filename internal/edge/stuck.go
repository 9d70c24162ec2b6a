package edge

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"time"
)

// ShowWindow makes the scene's capture print the window field of the
// segments role sends, as tcpdump does, before their length:
//
//	server > client: Flags [.], ack 4097, win 0, length 0
//
// It is the field as sent, not scaled: an example that shows it keeps
// it meaningful and the same on every machine by giving that end a
// receive buffer of its own before the handshake (SO_RCVBUF, see
// [Scene.ListenWith]), which keeps its window scale at 0. Other
// examples leave the window out: it depends on the machine's
// tcp_rmem.
func (s *Scene) ShowWindow(role string) {
	printMu.Lock()
	defer printMu.Unlock()
	s.capture.window = role
}

// ListenWith is [Scene.Listen] with set called on the listening socket
// before listen(2): socket options there, such as SO_RCVBUF, are those
// of the connections it accepts.
func (s *Scene) ListenWith(role string, set func(fd int) error) *net.TCPListener {
	lc := net.ListenConfig{Control: control(set)}
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	Check(err, "listen on 127.0.0.1")
	s.Name(l.Addr(), role)
	return l.(*net.TCPListener)
}

// DialWith is [Scene.Dial] on loopback with set called on the socket
// before connect(2).
func (s *Scene) DialWith(role string, addr net.Addr, set func(fd int) error) *End {
	d := net.Dialer{Control: control(set)}
	c, err := d.Dial("tcp", addr.String())
	Check(err, role+": connect")
	return s.End(role, c.(*net.TCPConn))
}

// control runs set on a socket Go is making, as net.Dialer and
// net.ListenConfig call their Control.
func control(set func(fd int) error) func(string, string, syscall.RawConn) error {
	return func(_, _ string, raw syscall.RawConn) error {
		var err error
		if cerr := raw.Control(func(fd uintptr) { err = set(int(fd)) }); cerr != nil {
			return cerr
		}
		return err
	}
}

// PrintPaused prints the segments captured since the last line, as
// [Scene.PrintSegments] does, with a pause ([Gap]) before each of the
// first segments that paced matches: pauses[0] before the first,
// pauses[1] before the second, and so on. It is for a step in which a
// kernel timer paced what one end sent (a delayed ACK, zero-window
// probes). Call it once the step's last segment has had its effect,
// so that they are all there: where the pauses go then depends on the
// order of the segments only, not on when the program prints.
func (s *Scene) PrintPaused(paced func(seg string) bool, pauses ...time.Duration) {
	printMu.Lock()
	defer printMu.Unlock()
	var segs []string
	for _, c := range live {
		segs = append(segs, c.Segments()...)
	}
	n := 0
	for _, seg := range segs {
		if n < len(pauses) && paced(seg) {
			fmt.Println(gapLine(pauses[n]))
			n++
		}
		fmt.Println("  " + seg)
	}
	if n < len(pauses) {
		Fatalf("%d segments came after a pause, not %d", n, len(pauses))
	}
}
