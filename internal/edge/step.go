package edge

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

// CheckCaller ends the program if err is not nil, naming the step that
// failed by where its caller's caller is in the source: an example's
// one-line check(err) then says "at main.go:42 (in connect): ..."
// rather than a bare errno, which x/sys/unix returns without the
// name of the call.
func CheckCaller(err error) {
	if err == nil {
		return
	}
	where := "unknown step"
	if pc, file, line, ok := runtime.Caller(2); ok {
		where = fmt.Sprintf("at %s:%d", filepath.Base(file), line)
		if f := runtime.FuncForPC(pc); f != nil {
			name := f.Name()[strings.LastIndex(f.Name(), ".")+1:]
			where += " (in " + name + ")"
		}
	}
	Fatalf("%s: %v", where, err)
}
