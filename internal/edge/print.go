package edge

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// The story an example prints is one timeline: its own lines and the
// segments it captured, in the order they happened. Every line printed
// through this file first prints the segments that the running
// captures took before it. A capture's queue holds packets in the order
// the kernel saw them, and [Capture.Segments] reads it up to a marker
// sent now: what it returns happened before this moment, and what
// happens after it is printed after the line.
var (
	printMu sync.Mutex
	live    []*Capture // running captures, flushed before each line
)

// Printf prints a line of the example's story, as fmt.Printf does,
// after the segments captured before it.
func Printf(format string, args ...any) {
	printMu.Lock()
	defer printMu.Unlock()
	flush()
	line(fmt.Sprintf(format, args...))
}

// Println prints a line of the example's story, as fmt.Println does,
// after the segments captured before it.
func Println(args ...any) {
	printMu.Lock()
	defer printMu.Unlock()
	flush()
	line(fmt.Sprintln(args...))
}

// line prints a line of the story, and gives it to the sockets report
// (report.go) after the sockets as they are now.
func line(s string) {
	reportSockets("sockets:")
	os.Stdout.WriteString(s)
	reportText(s)
}

// out prints what is not a line of the program's own (a segment, a
// pause): the report has it too, without a view of the sockets.
func out(s string) {
	os.Stdout.WriteString(s)
	reportText(s)
}

// Gap prints a pause of length d in the timeline, "  (+0.4 s)", before
// what follows it: the diagrams draw it between the arrows around it.
// d must come from the kernel or from what the example set (an RTO from
// TCP_INFO, a keepalive interval), never from a clock, so that the
// output is the same on every run.
func Gap(d time.Duration) {
	Println(gapLine(d))
}

// gapLine is the line of a pause of length d: "  (+0.4 s)".
func gapLine(d time.Duration) string {
	return "  (+" + trimZeros(fmt.Sprintf("%.2f", d.Seconds())) + " s)"
}

func trimZeros(s string) string {
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

// flush prints the segments every running capture has taken since it
// last printed, indented. It returns how many it printed.
func flush() int {
	n := 0
	for _, c := range live {
		for _, seg := range c.Segments() {
			out("  " + seg + "\n")
			n++
		}
	}
	return n
}

// PrintSegments prints, indented, the segments every running capture
// has taken since the last line printed, or "(no segment)".
func PrintSegments() {
	printMu.Lock()
	defer printMu.Unlock()
	if flush() == 0 {
		out("  (no segment)\n")
	}
}

func startPrinting(c *Capture) {
	printMu.Lock()
	defer printMu.Unlock()
	live = append(live, c)
}

func stopPrinting(c *Capture) {
	printMu.Lock()
	defer printMu.Unlock()
	live = slices.DeleteFunc(live, func(l *Capture) bool { return l == c })
}
