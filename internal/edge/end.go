package edge

import (
	"fmt"
	"math"
	"time"

	"github.com/vishvananda/netlink"
)

// timerNames are the timers sock_diag reports in idiag_timer
// (inet_sk_diag_fill, inet_twsk_diag_fill), by the names ss prints.
var timerNames = [...]string{
	0: "off",
	1: "on", // retransmission (or the loss probe, or the reorder timer)
	2: "keepalive",
	3: "timewait",
	4: "persist", // zero-window probe
}

// Diag is the kernel's sock_diag record of this end's connection
// (state, timer, queues), whether or not the program still holds the
// socket, or nil when the kernel has none.
func (e *End) Diag() *netlink.Socket {
	s, err := Diag(e.diag, e.local, e.remote)
	Check(err, e.Name)
	return s
}

// Timer says which timer the kernel runs for this end's connection and
// when it fires, as ss -o does, rounded up to whole seconds so that the
// output does not change from run to run: "timewait, 60 s". A
// connection the kernel no longer knows has "no timer".
func (e *End) Timer() string {
	s := e.Diag()
	if s == nil {
		return "no timer"
	}
	name := fmt.Sprintf("timer(%d)", s.Timer)
	if int(s.Timer) < len(timerNames) {
		name = timerNames[s.Timer]
	}
	if s.Timer == 0 {
		return name
	}
	left := time.Duration(s.Expires) * time.Millisecond
	return fmt.Sprintf("%s, %d s", name, int(math.Ceil(left.Seconds())))
}
