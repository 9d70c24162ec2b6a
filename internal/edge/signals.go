package edge

import (
	"encoding/binary"
	"runtime"

	"golang.org/x/sys/unix"
)

// SignalsDuring runs f and returns the signal f raised, if any:
// unix.SIGPIPE for a write to a socket that can no longer send, or 0.
//
// The kernel raises SIGPIPE on the thread that made the call, during
// the call. To see it without dying from it, and without guessing how
// long to wait for it, the signal is blocked on this thread for the
// time of f and then read from a signalfd: it is there or it is not.
func SignalsDuring(f func()) unix.Signal {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var set, old unix.Sigset_t
	sigaddset(&set, unix.SIGPIPE)
	Check(unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old), "block SIGPIPE")
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	sfd, err := unix.Signalfd(-1, &set, unix.SFD_NONBLOCK|unix.SFD_CLOEXEC)
	Check(err, "signalfd")
	defer unix.Close(sfd)

	f()

	var info [128]byte // struct signalfd_siginfo
	n, err := unix.Read(sfd, info[:])
	if err == unix.EAGAIN {
		return 0
	}
	Check(err, "read signalfd")
	if n < 4 {
		Fatalf("short read from signalfd")
	}
	// ssi_signo is the first field, a host-endian uint32.
	return unix.Signal(binary.NativeEndian.Uint32(info[:4]))
}

func sigaddset(set *unix.Sigset_t, sig unix.Signal) {
	n := uint(sig - 1)
	set.Val[n/64] |= 1 << (n % 64)
}

// SignalName names a signal as SignalsDuring returned it.
func SignalName(s unix.Signal) string {
	if s == 0 {
		return "none"
	}
	return unix.SignalName(s)
}
