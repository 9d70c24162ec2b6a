package edge

import (
	"errors"
	"net"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// destroySockets destroys every TCP socket left in the host, with
// sock_diag's SOCK_DESTROY (what ss -K does; the kernel needs
// CONFIG_INET_DIAG_DESTROY): tcp_abort closes each at once, with an
// RST where its state calls for one.
//
// A socket keeps its network namespace alive, even once no process
// holds it: an orphan in FIN_WAIT1, FIN_WAIT2, LAST_ACK or CLOSING
// lives on for its timers (tcp_fin_timeout, tcp_orphan_retries),
// a minute or two, and with it the host and its interfaces. Destroyed,
// nothing keeps the host once the program has let go of it. Where the
// kernel cannot destroy sockets, they are left to their timers.
func (h *Host) destroySockets() {
	nl, err := netlink.NewHandleAt(h.ns, unix.NETLINK_INET_DIAG)
	if err != nil {
		return
	}
	defer nl.Close()
	// An RST one socket sends may move another (into TIME_WAIT, say):
	// look again, a few times.
	for range 3 {
		socks, err := nl.SocketDiagTCP(unix.AF_INET)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) || len(socks) == 0 {
			return
		}
		for _, s := range socks {
			nl.SocketDestroy(
				&net.TCPAddr{IP: s.ID.Source, Port: int(s.ID.SourcePort)},
				&net.TCPAddr{IP: s.ID.Destination, Port: int(s.ID.DestinationPort)})
		}
	}
}

// Close removes the lab's hosts at once: see [Host.Close].
func (l *Lab) Close() {
	for _, h := range []*Host{l.Client, l.Router, l.Server} {
		h.Close()
	}
}

// quiet sends whatever the program still prints on its standard output
// to /dev/null: once interrupted, its story is over, and what its
// goroutines print while the clean-ups run is not part of it.
func quiet() {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err == nil {
		unix.Dup2(int(null.Fd()), 1)
	}
}

// stayIfEnding blocks the calling goroutine for good when the program
// is ending through [Exit] (on SIGINT, say): destroying the hosts'
// sockets wakes the main goroutine's blocked calls, and main must not
// then run to its end, whose return would exit with status 0 before
// Exit exits with its own.
func stayIfEnding() {
	if exiting.Load() {
		select {}
	}
}
