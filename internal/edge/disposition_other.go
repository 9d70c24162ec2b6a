//go:build !amd64 && !arm64

package edge

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// DefaultAction gives the signal its default action (SIG_DFL); see the
// amd64 version. Elsewhere it is not written yet.
func DefaultAction(sig unix.Signal) error {
	return fmt.Errorf("setting the action of %v is not written for %s", sig, runtime.GOARCH)
}
