package edge

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// TimerWithin is [End.Timer] with the time left rounded up to a
// multiple of grain rather than to whole seconds: "timewait, 60 s"
// with a grain of 10 s says the timer had more than 50 s and at most
// 60 s left. A program on a busy machine may read a 60 s timer more
// than a second after the kernel armed it; a coarser grain keeps the
// output the same on every run.
func (e *End) TimerWithin(grain time.Duration) string {
	s := e.Diag()
	if s == nil || s.Timer == 0 {
		return e.Timer()
	}
	name := fmt.Sprintf("timer(%d)", s.Timer)
	if int(s.Timer) < len(timerNames) {
		name = timerNames[s.Timer]
	}
	left := time.Duration(s.Expires) * time.Millisecond
	n := math.Ceil(float64(left) / float64(grain))
	return fmt.Sprintf("%s, %d s", name, int(n*grain.Seconds()))
}

// RTO is the retransmission timeout the kernel reports for the socket
// fd in TCP_INFO (tcpi_rto), to 0.1 s: on loopback or a veth it is the
// minimum, 200 ms (TCP_RTO_MIN), plus a few milliseconds that differ
// between kernels (204 ms on the machine the book is pinned on, 220 ms
// on Debian's 6.18 under qemu); in
// SYN_SENT, the initial 1 s (TCP_TIMEOUT_INIT). It is the time to
// print with [Gap] before a retransmission.
func RTO(fd int) time.Duration {
	info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	Check(err, "getsockopt TCP_INFO")
	return (time.Duration(info.Rto) * time.Microsecond).Round(100 * time.Millisecond)
}
