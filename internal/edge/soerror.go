package edge

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// WaitSOError waits, for at most wait, until getsockopt(SO_ERROR) on
// fd reports an error, and returns it. Reading SO_ERROR takes the
// error it reports (the hard one, sk_err, else the soft one an ICMP
// noted, sk_err_soft), but a read that finds none takes nothing, so
// asking again until there is one loses nothing.
func WaitSOError(fd int, wait time.Duration) unix.Errno {
	var n int
	pollFor(wait, "getsockopt(SO_ERROR) to report an error", func() (bool, string) {
		var err error
		n, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		Check(err, "getsockopt SO_ERROR")
		return n != 0, fmt.Sprintf("it reports %d", n)
	})
	return unix.Errno(n)
}
