package edge

import (
	"fmt"
	"time"
)

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
			fmt.Printf("  (+%s s)\n", trimZeros(fmt.Sprintf("%.2f", d.Seconds())))
		}
		fmt.Println("  " + seg)
	}
}
