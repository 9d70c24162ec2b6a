package edge

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// FDAddr returns the local address of a raw socket, getsockname(2), as
// a *net.TCPAddr to give it a role with [Scene.Name].
func FDAddr(fd int) *net.TCPAddr {
	sa, err := unix.Getsockname(fd)
	Check(err, "getsockname")
	in, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		Fatalf("getsockname: not an IPv4 address: %v", sa)
	}
	return &net.TCPAddr{IP: net.IP(in.Addr[:]), Port: in.Port}
}

// ListenerQueue asks sock_diag, as ss -lnt does, for the queues of
// the listener on addr in the network namespace of the calling thread.
// For a listener the kernel reports in Recv-Q the connections waiting
// in its accept queue (sk_ack_backlog) and in Send-Q the backlog it
// was given (sk_max_ack_backlog): see tcp_diag_get_info.
func ListenerQueue(addr net.Addr) (recvQ, sendQ uint32) {
	want := addr.(*net.TCPAddr)
	nl, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
	Check(err, "open sock_diag")
	defer nl.Close()
	socks, err := nl.SocketDiagTCP(unix.AF_INET)
	Check(err, "sock_diag dump")
	for _, s := range socks {
		if s.State == unix.BPF_TCP_LISTEN && s.ID.SourcePort == uint16(want.Port) && s.ID.Source.Equal(want.IP) {
			return s.RQueue, s.WQueue
		}
	}
	Fatalf("sock_diag: no listener on %v", addr)
	return 0, 0
}

// TCPExtCounter returns the counter name ("ListenOverflows") of the
// TcpExt line of /proc/net/netstat, as nstat shows it, for the network
// namespace of the calling thread: counters are per namespace, so
// inside a [Host] they count that host's events only.
func TCPExtCounter(name string) uint64 {
	// /proc/net follows the thread group leader's namespace;
	// /proc/thread-self/net follows this thread's.
	f, err := os.Open("/proc/thread-self/net/netstat")
	Check(err, "read TCP counters")
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		names := strings.Fields(sc.Text())
		if !sc.Scan() {
			break
		}
		values := strings.Fields(sc.Text())
		if len(names) == 0 || names[0] != "TcpExt:" || len(values) != len(names) {
			continue
		}
		for i, n := range names {
			if n == name {
				v, err := strconv.ParseUint(values[i], 10, 64)
				Check(err, "counter "+name)
				return v
			}
		}
	}
	Check(sc.Err(), "read TCP counters")
	Fatalf("no TcpExt counter %q in /proc/net/netstat", name)
	return 0
}

// SOError names the value getsockopt(SO_ERROR) returned: "0" when no
// error is pending, else the errno by name and text, like [Describe]:
//
//	ECONNREFUSED "connection refused"
func SOError(n int) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%s %q", unix.ErrnoName(unix.Errno(n)), unix.Errno(n).Error())
}

// WaitTCPExtCounter waits until the TcpExt counter name has reached at
// least n, and returns its value: a dropped segment leaves no other
// trace than a counter.
func WaitTCPExtCounter(name string, n uint64) uint64 {
	var v uint64
	poll(fmt.Sprintf("TcpExt %s to reach %d", name, n), func() (bool, string) {
		v = TCPExtCounter(name)
		return v >= n, fmt.Sprintf("it is %d", v)
	})
	return v
}

// WaitConnState waits until sock_diag, in the network namespace of
// the calling thread, reports the connection from local to remote in
// one of the given states ("CLOSED" when it has none), and returns
// that state. It follows connections the program holds no descriptor
// for, such as one net.Dial closed.
func WaitConnState(local, remote *net.TCPAddr, states ...string) string {
	nl, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
	Check(err, "open sock_diag")
	defer nl.Close()
	var st string
	what := fmt.Sprintf("%v->%v to reach %s", local, remote, strings.Join(states, " or "))
	poll(what, func() (bool, string) {
		st, err = DiagState(nl, local, remote)
		Check(err, "sock_diag")
		for _, want := range states {
			if st == want {
				return true, ""
			}
		}
		return false, "it is " + st
	})
	return st
}

// WaitSYNOutcome waits until the listener on addr, in the network
// namespace of the calling thread, has decided about one more
// connection: its accept queue grew past queued (the handshake
// completed), or the TcpExt counter ListenOverflows grew past dropped
// (the SYN, or the handshake's last ACK, was dropped because the
// accept queue was full). It returns the new queue length and
// counter.
func WaitSYNOutcome(addr net.Addr, queued uint32, dropped uint64) (uint32, uint64) {
	var q uint32
	var d uint64
	poll(fmt.Sprintf("the listener on %v to queue or drop a connection", addr), func() (bool, string) {
		q, _ = ListenerQueue(addr)
		d = TCPExtCounter("ListenOverflows")
		return q > queued || d > dropped, fmt.Sprintf("its queue is %d, ListenOverflows %d", q, d)
	})
	return q, d
}
