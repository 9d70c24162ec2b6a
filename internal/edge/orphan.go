package edge

import (
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
)

// WaitDiag waits, for at most wait, until cond holds for the kernel's
// sock_diag record of e's connection (nil once the kernel has freed
// it), and returns that record. It follows a connection the program no
// longer holds: an orphan the kernel keeps retransmitting for.
func (e *End) WaitDiag(wait time.Duration, what string, cond func(*netlink.Socket) bool) *netlink.Socket {
	var s *netlink.Socket
	pollFor(wait, e.Name+": "+what, func() (bool, string) {
		s = e.Diag()
		if cond(s) {
			return true, ""
		}
		if s == nil {
			return false, "the kernel has no such connection"
		}
		return false, fmt.Sprintf("it is %s with %d retransmissions", StateName(s.State), s.Retrans)
	})
	return s
}
