package tcpedges_test

// The kernels the book was checked on, and the outputs that differ on
// some of them.
//
// The pinned outputs are those of Linux 6.18. Where an example prints
// something else on another kernel of the set, for a reason of that
// kernel's (the same in every run there, and never on 6.18 booted the
// same way: go run ./tools/kernels -n 3 tells), its script pins that
// output too, in a file of its own, and a condition on the running
// kernel chooses which one to compare with:
//
//	[kernel:6.1] cmp stdout want-6.1
//	[!kernel:6.1] cmp stdout want
//
// -update then rewrites the file of the kernel it runs on.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// checkedKernels are the kernel series, uname -r up to its second dot,
// that the book was run on with tools/kernels. Where it does not pass
// on one of them yet, the Kernels appendix says so.
var checkedKernels = []string{"6.1", "6.12", "6.18", "7.3"}

// kernelRelease is the running kernel's uname -r.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// series is a release's series: 6.18 for 6.18.44-fc, 6.1 for
// 6.1.0-57-amd64.
func series(release string) string {
	end := strings.IndexFunc(release, func(r rune) bool { return r != '.' && (r < '0' || r > '9') })
	if end < 0 {
		end = len(release)
	}
	parts := strings.SplitN(release[:end], ".", 3)
	if len(parts) < 2 {
		return release
	}
	return parts[0] + "." + parts[1]
}

// kernelCondition answers a script's condition kernel:S, or
// kernel:S1,S2: whether the running kernel is of one of those series.
// It names only kernels of the set; handled is false for a condition
// of another kind.
func kernelCondition(cond, release string) (ok, handled bool, err error) {
	list, found := strings.CutPrefix(cond, "kernel:")
	if !found {
		return false, false, nil
	}
	running := series(release)
	for _, s := range strings.Split(list, ",") {
		if !slices.Contains(checkedKernels, s) {
			return false, true, fmt.Errorf("condition %s names %q, not a kernel the book was checked on (%s)", cond, s, strings.Join(checkedKernels, ", "))
		}
		if s == running {
			ok = true
		}
	}
	return ok, true, nil
}

// uncheckedKernel is the one line a failing script logs on a kernel
// the book was not checked on, or "".
func uncheckedKernel(release string) string {
	if slices.Contains(checkedKernels, series(release)) {
		return ""
	}
	return fmt.Sprintf("this kernel, Linux %s, is not one the book was checked on (%s): the diff below may be this kernel's own behaviour, not a bug",
		release, strings.Join(checkedKernels, ", "))
}

// noteKernel, called from a script's Setup, logs that line: a script's
// log is shown when it fails, above its diff.
func noteKernel(env *testscript.Env) {
	if line := uncheckedKernel(kernelRelease()); line != "" {
		env.T().Log(line)
	}
}

func TestKernelCondition(t *testing.T) {
	for _, c := range []struct {
		cond, release string
		ok, handled   bool
		err           bool
	}{
		{"kernel:6.1", "6.1.0-57-amd64", true, true, false},
		{"kernel:6.1", "6.12.118+deb13-amd64", false, true, false},
		{"kernel:6.1,6.12", "6.12.118+deb13-amd64", true, true, false},
		{"kernel:6.18", "6.18.44-fc-v857", true, true, false},
		{"kernel:7.3", "7.3.4+deb13-amd64", true, true, false},
		{"kernel:5.4", "5.4.0-1-amd64", false, true, true},
		{"root", "6.18.44", false, false, false},
	} {
		ok, handled, err := kernelCondition(c.cond, c.release)
		if ok != c.ok || handled != c.handled || (err != nil) != c.err {
			t.Errorf("kernelCondition(%q) on %s = %v, %v, %v; want %v, %v, error %v", c.cond, c.release, ok, handled, err, c.ok, c.handled, c.err)
		}
	}
}

func TestUncheckedKernelSaysSoInOneLine(t *testing.T) {
	if line := uncheckedKernel("6.18.44-fc-v857"); line != "" {
		t.Errorf("on 6.18: %q, want nothing", line)
	}
	line := uncheckedKernel("5.15.0-91-generic")
	if !strings.HasPrefix(line, "this kernel, Linux 5.15.0-91-generic, is not one the book was checked on (6.1, 6.12, 6.18, 7.3)") || strings.Contains(line, "\n") {
		t.Errorf("on 5.15: %q", line)
	}
}
