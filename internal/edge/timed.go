package edge

import (
	"fmt"
	"time"
)

// PrintTimed waits until the scene's capture has taken len(gaps) more
// segments, for at most wait, and prints them, each after its pause
// ("  (+0.4 s)", none for a pause of 0), then any segment captured
// with them. It is for segments that timers send one at a time, a
// known pause apart: retransmissions with a doubling timeout.
//
// Unlike a series of [Scene.GapSegments], it does not matter how late
// the program gets to it: the pauses are put between the segments
// afterwards, so a machine busy enough to delay the program past the
// next timer does not change the output. The caller checks, with the
// kernel's own count, that the timers sent one segment each.
func (s *Scene) PrintTimed(gaps []time.Duration, wait time.Duration) {
	printMu.Lock()
	defer printMu.Unlock()
	segs := s.capture.take(len(gaps), wait)
	for i, seg := range segs {
		if i < len(gaps) && gaps[i] > 0 {
			out(gapLine(gaps[i]) + "\n")
		}
		out("  " + seg + "\n")
	}
}

// Await asks cond until it holds, for at most wait, as the waits of
// this package do, and ends the program saying what it waited for if
// it does not: for a kernel state no other wait here covers, such as a
// firewall rule's counter (cond's second result says what it is now).
func Await(wait time.Duration, what string, cond func() (ok bool, now string)) {
	pollFor(wait, what, cond)
}

// PrintAfter waits until the scene's capture has taken n segments
// since the last line printed, for at most wait, prints those n, then
// the line (as [Printf] formats it); the segments captured after them
// are printed before the next line. It is for a line about a moment
// between segments that the kernel's timers send on their own (what a
// close left behind, between its FIN and the retransmissions that
// follow): however late the program prints it, the line stands after
// the n segments and before the rest.
func (s *Scene) PrintAfter(n int, wait time.Duration, format string, args ...any) {
	printMu.Lock()
	defer printMu.Unlock()
	s.printNext(n, wait)
	line(fmt.Sprintf(format, args...))
}
