package tcpedges_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/tools/txtar"
)

// A failed script says more than its diff: the examples it runs write,
// into $WORK/.sockets, what they print and, before each line, every TCP
// socket the kernel holds in their namespaces (internal/edge/report.go).
// When the script fails, its log shows the sockets as they were when
// the example printed the first line that differs from the pinned
// output, and at the example's last line or failure: so a failure seen
// once, under load, explains itself without being reproduced.
func watchSockets(env *testscript.Env) {
	path := filepath.Join(env.WorkDir, ".sockets")
	env.Setenv("TCPEDGES_SOCKETS", path)
	env.Defer(func() {
		if t, ok := env.T().(interface{ Failed() bool }); ok && t.Failed() {
			env.T().Log(explainFailure(path, env.WorkDir))
		}
	})
}

// explainFailure reads the report of the last example the script ran
// and picks from it the views that explain a failure.
func explainFailure(path, work string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "no view of the sockets: the example wrote none (" + err.Error() + ")"
	}
	runs := strings.Split(string(data), "@ == ")
	last := runs[len(runs)-1]
	cmd, body, _ := strings.Cut(last, "\n")
	story, views := parseReport(body)

	var b strings.Builder
	fmt.Fprintf(&b, "the kernel's view of the sockets, as %s told its story:\n", cmd)
	// The pinned output this run is furthest along: the one the script
	// compared it with, or the closest of its variants.
	wants, _ := filepath.Glob(filepath.Join(work, "want*"))
	best, at := "", -1
	for _, w := range wants {
		pinned, err := os.ReadFile(w)
		if err != nil {
			continue
		}
		if n := firstDifference(story, strings.SplitAfter(string(pinned), "\n")); n > at {
			best, at = filepath.Base(w), n
		}
	}
	if best != "" && at < len(story) {
		fmt.Fprintf(&b, "when it printed line %d, the first that differs from %s (%q):\n%s",
			at+1, best, strings.TrimSuffix(story[at], "\n"), views[at])
	}
	if v := views[len(story)]; v != "" {
		fmt.Fprintf(&b, "after its last line:\n%s", v)
	}
	return b.String()
}

// parseReport splits a run's report into the lines of its story and,
// for each line i, the sockets the example saw just before it
// (views[len(story)]: after the last line, at a failure).
func parseReport(body string) (story, views []string) {
	var view strings.Builder
	fresh := false // a view taken after the last line of the story
	for _, l := range strings.SplitAfter(body, "\n") {
		if l == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(l, "@ "); ok {
			if !strings.HasPrefix(rest, "  ") {
				view.Reset() // a new view begins
			}
			view.WriteString("  " + rest)
			fresh = true
			continue
		}
		// A segment or a pause has no view of its own: it is shown with
		// the last one taken before it.
		story = append(story, l)
		views = append(views, view.String())
		fresh = false
	}
	if !fresh {
		view.Reset()
	}
	return story, append(views, view.String())
}

// firstDifference is the index of the first line where a and b differ,
// len(a) if a is all of b's beginning.
func firstDifference(a, b []string) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// A script that fails shows, in its log, the sockets as the example saw
// them at its first wrong line. Here the pinned output of
// rst-close-unread is changed at its fourth line, where both ends are
// connected: the log must name that line and show them ESTABLISHED.
func TestFailureShowsTheSockets(t *testing.T) {
	t.Parallel()
	usesExamples(t)
	pinned, err := txtar.ParseFile("testdata/rst-close-unread.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, f := range pinned.Files {
		if f.Name == "want" {
			want = f.Data
		}
	}
	lines := strings.SplitAfter(string(want), "\n")
	if len(lines) < 6 || !strings.HasPrefix(lines[4], "client: conn.Write") {
		t.Fatalf("rst-close-unread's output changed; this test expects its fifth line to be the client's write, not %q", lines[4])
	}
	lines[4] = "client: something else\n"
	dir := t.TempDir()
	script := "exec rst-close-unread\ncmp stdout want\n-- want --\n" + strings.Join(lines, "")
	if err := os.WriteFile(filepath.Join(dir, "wrong.txtar"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	ft := &failingT{}
	ft.Run("wrong", func(st testscript.T) {
		testscript.RunT(st, testscript.Params{
			Dir:                 dir,
			RequireExplicitExec: true,
			Setup: func(env *testscript.Env) error {
				env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
				watchSockets(env)
				return nil
			},
		})
	})
	log := ft.log.String()
	for _, want := range []string{
		`when it printed line 5, the first that differs from want ("client: conn.Write(\"hello\")")`,
		"  here: ESTABLISHED 127.0.0.1:",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the failed script's log does not hold %q; it is:\n%s", want, log)
		}
	}
	if !ft.Failed() {
		t.Error("the script with a wrong output passed")
	}
}

// failingT is a testscript.T that records, for a script expected to
// fail, what it logs, rather than failing the test that runs it.
type failingT struct {
	mu     sync.Mutex
	log    strings.Builder
	failed bool
}

func (t *failingT) Skip(args ...any)  { t.Log(args...); runtime.Goexit() }
func (t *failingT) Fatal(args ...any) { t.Log(args...); t.FailNow() }
func (t *failingT) Parallel()         {}
func (t *failingT) Verbose() bool     { return false }
func (t *failingT) Failed() bool      { t.mu.Lock(); defer t.mu.Unlock(); return t.failed }
func (t *failingT) FailNow() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
	runtime.Goexit()
}
func (t *failingT) Log(args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(&t.log, args...)
}

// Run runs f on a goroutine of its own, which FailNow ends.
func (t *failingT) Run(name string, f func(testscript.T)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(t)
	}()
	<-done
}
