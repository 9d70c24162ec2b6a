//go:build amd64 || arm64

package edge

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// DefaultAction gives the signal its default action (SIG_DFL) in this
// process: for SIGINT, to end it.
//
// A process inherits the signals its parent ignored, and Go keeps
// SIGINT ignored when the program starts with it ignored (a background
// job of a non-interactive shell, a program under test2json): neither
// signal.Reset nor signal.Stop give it back its default. An example
// that relies on dying of a signal sets the action itself, with
// rt_sigaction(2), which Go's runtime does not undo.
func DefaultAction(sig unix.Signal) error {
	// struct sigaction as the kernel takes it on amd64 and arm64:
	// handler, flags, restorer, mask.
	var sa struct {
		handler, flags, restorer uintptr
		mask                     uint64
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
