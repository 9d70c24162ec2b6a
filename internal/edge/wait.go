package edge

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Timeout bounds every wait: what a loopback example waits for
// happens within microseconds, so reaching it means something is
// wrong, and the program says what it waited for.
var Timeout = 2 * time.Second

// poll asks the kernel cond until it holds, at growing intervals from
// 20µs to 1ms. The kernel has no notification for "this socket
// changed state" (least of all for a socket nobody holds), so asking
// again is the only way to wait for one; the interval is not a guess
// at how long the change takes, which does not change the output.
func poll(what string, cond func() (ok bool, now string)) {
	pollFor(Timeout, what, cond)
}

// pollFor is poll bounded by wait instead of [Timeout].
func pollFor(wait time.Duration, what string, cond func() (ok bool, now string)) {
	deadline := time.Now().Add(wait)
	for d := 20 * time.Microsecond; ; d = min(2*d, time.Millisecond) {
		ok, now := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			Fatalf("waited %v for %s, but %s", wait, what, now)
		}
		time.Sleep(d)
	}
}

// pollEvents are every poll(2) event of <asm-generic/poll.h>, and
// POLLRDHUP, in the order they are printed. x/sys/unix names only some
// of them on Linux.
var pollEvents = []struct {
	bit  int16
	name string
}{
	{unix.POLLIN, "POLLIN"},
	{0x040, "POLLRDNORM"},
	{0x080, "POLLRDBAND"},
	{unix.POLLPRI, "POLLPRI"},
	{unix.POLLOUT, "POLLOUT"},
	{0x100, "POLLWRNORM"},
	{0x200, "POLLWRBAND"},
	{0x400, "POLLMSG"},
	{unix.POLLRDHUP, "POLLRDHUP"},
	{unix.POLLERR, "POLLERR"},
	{unix.POLLHUP, "POLLHUP"},
	{unix.POLLNVAL, "POLLNVAL"},
}

// WaitFD waits with poll(2) until fd has one of the events (for
// instance unix.POLLIN: readable, unix.POLLRDHUP: the peer's FIN has
// arrived, unix.POLLERR: an error is pending in SO_ERROR), and
// returns every event poll reports for fd then, by name ([Events]):
// poll reports only the events it is asked for (and POLLERR, POLLHUP),
// so the events waited for are not all there are.
func WaitFD(fd int, events int16) string {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
	for {
		n, err := unix.Poll(pfd, int(Timeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		Check(err, "poll")
		if n == 0 {
			Fatalf("waited %v for %s on fd %d, and poll reported nothing",
				Timeout, EventNames(events), fd)
		}
		return Events(fd)
	}
}

// EventNames names poll events, in a fixed order: "POLLIN|POLLRDHUP".
func EventNames(ev int16) string {
	var names []string
	for _, e := range pollEvents {
		if ev&e.bit != 0 {
			names = append(names, e.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}

// Events returns every event that poll(2) reports for fd right now,
// without waiting: it asks for all of them.
func Events(fd int) string {
	var all int16
	for _, e := range pollEvents {
		all |= e.bit
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: all}}
	_, err := unix.Poll(pfd, 0)
	Check(err, "poll")
	return EventNames(pfd[0].Revents)
}

// Ret prints what a system call returned, the way C sees it: the
// count, or -1 and the errno.
//
//	5
//	-1 EPIPE "broken pipe"
func Ret(n int, err error) string {
	if err != nil {
		return "-1 " + Describe(err)
	}
	return fmt.Sprint(n)
}

// Describe names an error by errno where it has one, then Go's text:
//
//	EPIPE "write: broken pipe"
//	EOF
//	<nil>
func Describe(err error) string {
	if err == nil {
		return "<nil>"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("%s %q", unix.ErrnoName(errno), err.Error())
	}
	return fmt.Sprintf("%q", err.Error())
}

// WaitAcked waits until the peer's kernel has acknowledged everything
// written to fd: the send queue (SIOCOUTQ) is empty.
func WaitAcked(fd int) {
	poll("the peer to acknowledge all data sent", func() (bool, string) {
		n, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
		Check(err, "ioctl SIOCOUTQ")
		return n == 0, fmt.Sprintf("%d bytes are unacknowledged", n)
	})
}
