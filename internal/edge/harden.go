package edge

import (
	"slices"
	"time"
)

// Printing a step that kernel timers pace after the program has
// waited for its end. A program starved of CPU looks late, and a timer
// may have fired meanwhile: so these take the segments in the order the
// capture saw them, and put the pauses where the kernel's schedule
// puts them, whenever the program gets to print.

// PrintPausedAfter prints the first `first` segments captured since
// the last line, then the line text (as [Println] would, after them),
// then the rest as [Scene.PrintPaused] does, with pauses before the
// segments that paced matches. It is for a call that sent segments and
// returned (a write) before timers sent more of them (its
// retransmissions): call it once the last has had its effect.
func (s *Scene) PrintPausedAfter(first int, text string, paced func(seg string) bool, pauses ...time.Duration) {
	printMu.Lock()
	defer printMu.Unlock()
	segs := captured()
	if len(segs) < first {
		Fatalf("%d segments came before %q, not %d", len(segs), text, first)
	}
	for _, seg := range segs[:first] {
		out("  " + seg + "\n")
	}
	line(text + "\n")
	printPaused(segs[first:], paced, pauses)
}

// PrintPausedAndStop waits for the first n segments the scene's
// capture shows after the last line printed, for at most wait, prints
// them as [Scene.PrintPaused] does, and stops the capture, as
// [Scene.PrintSegmentsAndStop] does: no segment is shown after them.
// It is for a timer that goes on sending (keepalive probes) after the
// segments that make the point.
func (s *Scene) PrintPausedAndStop(n int, wait time.Duration, paced func(seg string) bool, pauses ...time.Duration) {
	printMu.Lock()
	defer printMu.Unlock()
	c := s.capture
	segs := c.take(n, wait)
	printPaused(segs[:n], paced, pauses)
	live = slices.DeleteFunc(live, func(l *Capture) bool { return l == c })
}

// captured is what the running captures took since the last line. The
// caller holds printMu.
func captured() []string {
	var segs []string
	for _, c := range live {
		segs = append(segs, c.Segments()...)
	}
	return segs
}

// printPaused prints segs with a pause before each of the first that
// paced matches, as [Scene.PrintPaused] does. The caller holds printMu.
func printPaused(segs []string, paced func(seg string) bool, pauses []time.Duration) {
	n := 0
	for _, seg := range segs {
		if n < len(pauses) && paced(seg) {
			out(gapLine(pauses[n]) + "\n")
			n++
		}
		out("  " + seg + "\n")
	}
	if n < len(pauses) {
		Fatalf("%d segments came after a pause, not %d", n, len(pauses))
	}
}
