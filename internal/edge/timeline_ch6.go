package edge

import (
	"time"

	"golang.org/x/sys/unix"
)

// WaitSegments waits until the scene's capture has taken n more
// segments that it shows (ICMP errors included), for at most wait, and
// prints them as they come. It is for a segment the kernel sends with
// no state of its own to wait on, such as a SYN that connect(2) sends
// while the example waits for connect to return: once it has printed
// the SYN, the example can print the time until the next one.
func (s *Scene) WaitSegments(n int, wait time.Duration) {
	deadline := time.Now().Add(wait)
	for {
		printMu.Lock()
		n -= flush()
		printMu.Unlock()
		if n <= 0 {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			Fatalf("waited %v for %d more segments", wait, n)
		}
		// Wait for the next packet on the interface, shown or not.
		_, err := unix.Poll([]unix.PollFd{{Fd: int32(s.capture.fd), Events: unix.POLLIN}}, int(left/time.Millisecond)+1)
		if err != nil && err != unix.EINTR {
			Check(err, "poll the capture")
		}
	}
}
