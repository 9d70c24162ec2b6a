package edge

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// stateNames are the kernel's TCP states (include/net/tcp_states.h),
// by the names ss and netstat print.
var stateNames = [...]string{
	unix.BPF_TCP_ESTABLISHED:  "ESTABLISHED",
	unix.BPF_TCP_SYN_SENT:     "SYN_SENT",
	unix.BPF_TCP_SYN_RECV:     "SYN_RECV",
	unix.BPF_TCP_FIN_WAIT1:    "FIN_WAIT1",
	unix.BPF_TCP_FIN_WAIT2:    "FIN_WAIT2",
	unix.BPF_TCP_TIME_WAIT:    "TIME_WAIT",
	unix.BPF_TCP_CLOSE:        "CLOSED",
	unix.BPF_TCP_CLOSE_WAIT:   "CLOSE_WAIT",
	unix.BPF_TCP_LAST_ACK:     "LAST_ACK",
	unix.BPF_TCP_LISTEN:       "LISTEN",
	unix.BPF_TCP_CLOSING:      "CLOSING",
	unix.BPF_TCP_NEW_SYN_RECV: "NEW_SYN_RECV",
}

// StateName names a TCP state number as the kernel reports it.
func StateName(s uint8) string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", s)
}

// FDState asks the kernel for the TCP state of a socket we hold,
// through getsockopt(TCP_INFO).
func FDState(fd int) (string, error) {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return "", fmt.Errorf("getsockopt TCP_INFO: %w", err)
	}
	return StateName(info.State), nil
}

// DiagState asks the kernel, through sock_diag, for the TCP state of
// the socket with this local and remote address, in the network
// namespace of the handle nl. It sees sockets no process holds any
// more: orphans in FIN_WAIT1, FIN_WAIT2, LAST_ACK or CLOSING, and
// TIME_WAIT. A socket the kernel has freed is "CLOSED".
func DiagState(nl *netlink.Handle, local, remote *net.TCPAddr) (string, error) {
	s, err := Diag(nl, local, remote)
	if err != nil || s == nil {
		return "CLOSED", err
	}
	return StateName(s.State), nil
}

// Diag returns the sock_diag record of one connection (state, timer,
// queues), or nil when the kernel has none.
//
// The kernel matches a sock_diag request by ports only, so the answer
// can be another socket on the same port (a listener, say, once our
// connection is gone), or several: Diag keeps only the socket whose
// four addresses are ours.
func Diag(nl *netlink.Handle, local, remote *net.TCPAddr) (*netlink.Socket, error) {
	for range 3 {
		s, err := nl.SocketGet(local, remote)
		switch {
		case errors.Is(err, netlink.ErrDumpInterrupted):
			continue // the table changed during the dump: ask again
		case err != nil && errors.Is(err, syscall.ENOENT),
			err != nil && err.Error() == "no message nor error from netlink":
			return nil, nil
		case err != nil && strings.Contains(err.Error(), "matching sockets"):
			return diagAll(nl, local, remote)
		case err != nil:
			return nil, fmt.Errorf("sock_diag %v->%v: %w", local, remote, err)
		}
		if !same(s, local, remote) {
			return diagAll(nl, local, remote)
		}
		return s, nil
	}
	return nil, fmt.Errorf("sock_diag %v->%v: dump interrupted three times", local, remote)
}

// diagAll looks for the connection among all TCP sockets.
func diagAll(nl *netlink.Handle, local, remote *net.TCPAddr) (*netlink.Socket, error) {
	all, err := nl.SocketDiagTCP(unix.AF_INET)
	for i := 0; i < 2 && errors.Is(err, netlink.ErrDumpInterrupted); i++ {
		all, err = nl.SocketDiagTCP(unix.AF_INET)
	}
	if err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	for _, s := range all {
		if same(s, local, remote) {
			return s, nil
		}
	}
	return nil, nil
}

func same(s *netlink.Socket, local, remote *net.TCPAddr) bool {
	return s.ID.Source.Equal(local.IP) && int(s.ID.SourcePort) == local.Port &&
		s.ID.Destination.Equal(remote.IP) && int(s.ID.DestinationPort) == remote.Port
}
