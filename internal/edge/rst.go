package edge

import (
	"fmt"
	"strings"
)

// WaitRemoteState waits until the socket at the other end of e, on
// this host, is in one of the given states, as sock_diag reports it.
// That socket may belong to no process of ours, or to no process at
// all: the orphan a process left behind when it exited.
func (e *End) WaitRemoteState(states ...string) {
	what := fmt.Sprintf("the peer of %s to reach %s", e.Name, strings.Join(states, " or "))
	poll(what, func() (bool, string) {
		s, err := DiagState(e.diag, e.remote, e.local)
		Check(err, e.Name+": the peer's state")
		for _, want := range states {
			if s == want {
				return true, ""
			}
		}
		return false, "it is " + s
	})
}
