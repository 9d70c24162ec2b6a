package edge

import (
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Printing the segments of a step whose timing the kernel sets: a
// delayed ACK, a SYN retransmitted while connect(2) waits, a timer's
// next segment. These print under the lock of print.go, so that no
// line comes between a pause and the segment it precedes.

// PrintDelayed prints the segments captured since the last line, as
// [Scene.PrintSegments] does, with a pause of d ([Gap]) before the
// last of them: for a step whose last segment a kernel timer sent, a
// delayed ACK say. Call it once that segment has had its effect (the
// program waited for it), so that it is the last one captured; the
// line can then not depend on when the program prints.
func (s *Scene) PrintDelayed(d time.Duration) {
	printMu.Lock()
	defer printMu.Unlock()
	var segs []string
	for _, c := range live {
		segs = append(segs, c.Segments()...)
	}
	if len(segs) == 0 {
		Fatalf("no segment came after a pause of %v", d)
	}
	for i, seg := range segs {
		if i == len(segs)-1 {
			out(gapLine(d) + "\n")
		}
		out("  " + seg + "\n")
	}
}

// WaitSegments waits until the scene's capture has taken n more
// segments that it shows (ICMP errors included), for at most wait, and
// prints those n; any read with them wait for the next line. It is
// for a segment the kernel sends with no state of its own to wait on,
// such as a SYN that connect(2) sends while the example waits for
// connect to return.
func (s *Scene) WaitSegments(n int, wait time.Duration) {
	printMu.Lock()
	defer printMu.Unlock()
	s.printNext(n, wait)
}

// GapSegments prints a pause of d, "  (+0.4 s)" as [Gap] does, then
// waits for the next n segments the capture shows, for at most wait,
// and prints them as they come.
//
// Unlike [Gap], it prints no segment before the pause: what was
// captured since the last line printed comes after it. So the pause
// stands between the last segment printed and the next one, however
// late the program gets to print it, as long as the line printed last
// ended the step before the pause (a timer's next segment cannot come
// before the line that follows the previous one is printed).
func (s *Scene) GapSegments(d time.Duration, n int, wait time.Duration) {
	printMu.Lock()
	defer printMu.Unlock()
	out(gapLine(d) + "\n")
	s.printNext(n, wait)
}

// PrintSegmentsAndStop waits for the first n segments the capture
// shows after the last line printed, prints them, and stops the
// capture: no segment is shown after them. It is for a story whose
// later segments depend on timing, which the example says it does not
// show.
func (s *Scene) PrintSegmentsAndStop(n int, wait time.Duration) {
	printMu.Lock()
	defer printMu.Unlock()
	c := s.capture
	segs := c.take(n, wait)
	for _, seg := range segs[:n] {
		out("  " + seg + "\n")
	}
	// As stopPrinting does, under the lock held here.
	live = slices.DeleteFunc(live, func(l *Capture) bool { return l == c })
}

// printNext waits for the next n segments the scene's capture shows,
// and prints them; those read with them wait for the next line (a
// program slow to look may find a later step's segments already
// there, after the pause that a later GapSegments prints). The other
// captures print as usual. The caller holds printMu.
func (s *Scene) printNext(n int, wait time.Duration) {
	c := s.capture
	segs := c.take(n, wait)
	for _, seg := range segs[:n] {
		out("  " + seg + "\n")
	}
	c.held = append(segs[n:len(segs):len(segs)], c.held...)
	for _, o := range live {
		if o != c {
			for _, seg := range o.Segments() {
				out("  " + seg + "\n")
			}
		}
	}
}

// take reads the segments the capture has taken since the last line,
// waiting for at least n of them, for at most wait; it returns all it
// read, n or more. The caller holds printMu.
func (c *Capture) take(n int, wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	var segs []string
	for len(segs) < n {
		segs = append(segs, c.Segments()...)
		if len(segs) < n {
			c.waitPacket(deadline, n-len(segs))
		}
	}
	return segs
}

// waitPacket waits until the capture has a packet to read, shown or
// not, and ends the program at the deadline, when n segments were
// still awaited.
func (c *Capture) waitPacket(deadline time.Time, n int) {
	left := time.Until(deadline)
	if left <= 0 {
		Fatalf("capture: waited in vain for %d more segments", n)
	}
	_, err := unix.Poll([]unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}, int(left/time.Millisecond)+1)
	if err != nil && err != unix.EINTR {
		Check(err, "poll the capture")
	}
}
