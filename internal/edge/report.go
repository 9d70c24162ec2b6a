package edge

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The kernel's view, for the book's tests. When the environment
// variable TCPEDGES_SOCKETS names a file (book_test.go sets it), the
// example appends to that file everything it prints and, before each
// line of its story, every TCP socket the kernel holds in the
// example's namespaces: its own and those of its hosts. When a script
// fails, the test shows the sockets as they were when the example
// printed its first wrong line: the state the story was told from.
//
// Lines of the story are written as printed; the sockets' lines start
// with "@ ", which no line of a story does.
const socketsEnv = "TCPEDGES_SOCKETS"

var report struct {
	sync.Mutex
	f     *os.File
	self  *netlink.Handle // sock_diag in the example's own namespace
	hosts []reportedHost  // the hosts alive now, in the order made
}

type reportedHost struct {
	h  *Host
	nl *netlink.Handle // sock_diag in the host
}

// startReport opens the report, if asked for one. It is called in the
// example's own namespace, before anything is printed; the programs an
// example starts write none.
func startReport() {
	path := os.Getenv(socketsEnv)
	os.Unsetenv(socketsEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	Check(err, "open the sockets report "+path)
	// A handle asks sock_diag in the namespace it was made in only for
	// the netlink families it was made with; the default set has none.
	self, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
	Check(err, "netlink for the sockets report")
	report.f, report.self = f, self
	fmt.Fprintf(f, "@ == %s\n", strings.Join(os.Args, " "))
}

// reportText appends what the story printed.
func reportText(s string) {
	report.Lock()
	defer report.Unlock()
	if report.f != nil {
		report.f.WriteString(s)
	}
}

// reportSockets appends the kernel's sockets, under a heading.
func reportSockets(heading string) {
	report.Lock()
	defer report.Unlock()
	if report.f == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "@ %s\n", heading)
	dumpSockets(&b, "here", report.self)
	for _, r := range report.hosts {
		dumpSockets(&b, r.h.Name, r.nl)
	}
	report.f.WriteString(b.String())
}

func reportHost(h *Host, alive bool) {
	report.Lock()
	defer report.Unlock()
	if report.f == nil {
		return
	}
	if alive {
		nl, err := netlink.NewHandleAt(h.ns, unix.NETLINK_INET_DIAG)
		if err != nil {
			fmt.Fprintf(report.f, "@ sock_diag in host %s: %v\n", h.Name, err)
			return
		}
		report.hosts = append(report.hosts, reportedHost{h, nl})
		return
	}
	report.hosts = slices.DeleteFunc(report.hosts, func(r reportedHost) bool {
		if r.h == h {
			r.nl.Close()
		}
		return r.h == h
	})
}

// dumpSockets writes a line for each TCP socket nl sees, as ss would:
// state, addresses, queues, the timer running and what TCP_INFO says of
// retransmissions and windows.
func dumpSockets(b *strings.Builder, where string, nl *netlink.Handle) {
	n := 0
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		all, err := nl.SocketDiagTCPInfo(family)
		if err != nil {
			fmt.Fprintf(b, "@   %s: sock_diag: %v\n", where, err)
			continue
		}
		for _, r := range all {
			s := r.InetDiagMsg
			fmt.Fprintf(b, "@   %s: %-11s %s -> %s  recv-q %d send-q %d",
				where, StateName(s.State),
				net.JoinHostPort(s.ID.Source.String(), fmt.Sprint(s.ID.SourcePort)),
				net.JoinHostPort(s.ID.Destination.String(), fmt.Sprint(s.ID.DestinationPort)),
				s.RQueue, s.WQueue)
			if s.Timer != 0 {
				fmt.Fprintf(b, "  timer %s %d ms retrans %d", timerName(s.Timer), s.Expires, s.Retrans)
			}
			if i := r.TCPInfo; i != nil {
				fmt.Fprintf(b, "  rto %d ms backoff %d probes %d unacked %d retrans %d/%d snd_wnd %d",
					i.Rto/1000, i.Backoff, i.Probes, i.Unacked, i.Retrans, i.Total_retrans, i.Snd_wnd)
			}
			b.WriteString("\n")
			n++
		}
	}
	if n == 0 {
		fmt.Fprintf(b, "@   %s: no TCP socket\n", where)
	}
}

// timerName names inet_diag's idiag_timer, as ss does.
func timerName(t uint8) string {
	switch t {
	case 1:
		return "on" // retransmission, or probe
	case 2:
		return "keepalive"
	case 3:
		return "timewait"
	case 4:
		return "persist" // zero-window probe
	}
	return fmt.Sprint("timer", t)
}
