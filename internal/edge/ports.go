package edge

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ConnsTo lists, through sock_diag, the connections of the network
// namespace of the calling thread whose remote end is remote: the
// sockets of this host's clients of remote, held or not (TIME_WAIT
// included), one per local port.
func ConnsTo(remote net.Addr) []*netlink.Socket {
	want := remote.(*net.TCPAddr)
	nl, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
	Check(err, "open sock_diag")
	defer nl.Close()
	all, err := nl.SocketDiagTCP(unix.AF_INET)
	for i := 0; i < 2 && errors.Is(err, netlink.ErrDumpInterrupted); i++ {
		all, err = nl.SocketDiagTCP(unix.AF_INET)
	}
	Check(err, "sock_diag dump")
	var to []*netlink.Socket
	for _, s := range all {
		if int(s.ID.DestinationPort) == want.Port && s.ID.Destination.Equal(want.IP) {
			to = append(to, s)
		}
	}
	return to
}

// StatesTo counts the connections to remote by state, in the order of
// the state names: "ESTABLISHED 2, TIME_WAIT 1", or "none".
func StatesTo(remote net.Addr) string {
	n := map[string]int{}
	for _, s := range ConnsTo(remote) {
		n[StateName(s.State)]++
	}
	if len(n) == 0 {
		return "none"
	}
	var parts []string
	for st, c := range n {
		parts = append(parts, fmt.Sprintf("%s %d", st, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// WaitConnsTo waits until the connections to remote satisfy cond, as
// sock_diag reports them, and returns them. what says what it waits
// for, when it does not come.
func WaitConnsTo(remote net.Addr, what string, cond func([]*netlink.Socket) bool) []*netlink.Socket {
	var socks []*netlink.Socket
	poll(what, func() (bool, string) {
		socks = ConnsTo(remote)
		return cond(socks), "sock_diag says " + StatesTo(remote)
	})
	return socks
}

// LocalPorts are the local ports of the sockets socks.
func LocalPorts(socks []*netlink.Socket) map[int]bool {
	ports := map[int]bool{}
	for _, s := range socks {
		ports[int(s.ID.SourcePort)] = true
	}
	return ports
}
