package tcpedges_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"tcpedges/internal/nsprobe"
)

// The tests of this file run examples in conditions a reader's machine
// may impose, each inside a user and a network namespace of its own
// (internal/nsprobe), so that the machine's own is never changed.
func init() { nsprobe.Helper() }

// run runs the example name as spec says, and fails the test if it
// could not be run at all.
func run(t *testing.T, name string, spec nsprobe.Spec) nsprobe.Result {
	t.Helper()
	spec.Path = filepath.Join(binDir, name)
	if spec.Timeout == 0 {
		spec.Timeout = 10 * time.Second
	}
	if spec.Settle == 0 {
		spec.Settle = 10 * time.Second
	}
	r, err := nsprobe.Run(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pinned is the output the example's script pins.
func pinned(t *testing.T, name string) string {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", name+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		if f.Name == "want" {
			return string(f.Data)
		}
	}
	t.Fatalf("testdata/%s.txtar pins no output", name)
	return ""
}

// storyOrSentence fails the test unless the example told its own story
// (the pinned output, status 0, nothing on stderr) or failed with one
// sentence on stderr and a non-zero status, in time.
func storyOrSentence(t *testing.T, name, conditions string, r nsprobe.Result) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.Stderr, "\n"), "\n")
	switch {
	case r.TimedOut:
		t.Errorf("%s (%s): still running after %v, killed; stdout:\n%s\nstderr:\n%s", name, conditions, r.Elapsed.Round(time.Millisecond), r.Stdout, r.Stderr)
	case r.Status == 0 && r.Stdout == pinned(t, name) && r.Stderr == "":
	case r.Status == 0:
		t.Errorf("%s (%s): status 0 with another story; stdout:\n%s\nstderr:\n%s", name, conditions, r.Stdout, r.Stderr)
	case len(lines) != 1 || !strings.HasPrefix(lines[0], name+": "):
		t.Errorf("%s (%s): status %d, want one sentence %q on stderr, got:\n%s", name, conditions, r.Status, name+": ...", r.Stderr)
	}
}

// Issue 19, item 1: rst-myths-exit waits for its child's connection
// and for its child's end, both of which may never come.
func TestRstMythsExitEndsWhenItsChildCannotConnect(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, shell string }{
		{"lo down", ""},
		{"two local ports", "ip link set lo up; sysctl -qw net.ipv4.ip_local_port_range='40000 40001'"},
	} {
		// The example is told to stay in the run's network namespace
		// (see edge.ParseFlags), where the conditions are: in one of
		// its own, none of them would reach it.
		c.shell = "export TCPEDGES_SANDBOX=1\n" + c.shell
		r := run(t, "rst-myths-exit", nsprobe.Spec{Shell: c.shell})
		storyOrSentence(t, "rst-myths-exit", c.name, r)
		if r.Status == 0 {
			t.Errorf("%s: status 0, but the child cannot connect", c.name)
		}
	}
}

func TestRstMythsExitWithSIGINTIgnored(t *testing.T) {
	t.Parallel()
	r := run(t, "rst-myths-exit", nsprobe.Spec{Shell: "ip link set lo up; trap '' INT"})
	storyOrSentence(t, "rst-myths-exit", "SIGINT ignored", r)
	if r.Status != 0 {
		t.Errorf("status %d, stderr %q: the example sets the disposition its Ctrl+C child relies on, and must tell its story", r.Status, r.Stderr)
	}
}

// Issue 19, item 2: with few local ports, connect-nonblocking's client
// was given the "closed" port and connected to itself.
func TestConnectNonblockingNeverTellsAnotherStory(t *testing.T) {
	t.Parallel()
	for _, last := range []int{40001, 40002, 40003, 40005, 40007} {
		shell := "export TCPEDGES_SANDBOX=1; ip link set lo up; sysctl -qw net.ipv4.ip_local_port_range='40000 " + itoa(last) + "'"
		r := run(t, "connect-nonblocking", nsprobe.Spec{Shell: shell})
		storyOrSentence(t, "connect-nonblocking", "ports 40000-"+itoa(last), r)
	}
}

// Issue 19, item 4: once a lab example has ended, normally or by
// SIGINT, no network namespace it made still exists: sockets left in
// them (orphans in FIN_WAIT1, FIN_WAIT2, LAST_ACK) no longer keep them
// for a minute or two. The observable is the kernel's count of network
// namespaces charged to the run's user namespace (see nsprobe).
func TestLabNamespacesGoWhenTheExampleEnds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, interruptAt string
	}{
		{"host-shutdown-vs-crash", ""},
		{"host-icmp-established", ""},
		{"host-crash-idle-keepalive", "the server host crashes"},
		{"host-shutdown-vs-crash", "client: read() = 0"},
	} {
		r := run(t, c.name, nsprobe.Spec{InterruptAtLine: c.interruptAt, Settle: 5 * time.Second})
		how := "ended by itself"
		if c.interruptAt != "" {
			how = "interrupted (or ended first)"
			ended := r.Status == 0 && r.Stdout == pinned(t, c.name) && r.Stderr == ""
			if !ended && (!r.Interrupted || r.Status != 130) {
				t.Errorf("%s: interrupted %v, status %d, stderr %q; want status 130", c.name, r.Interrupted, r.Status, r.Stderr)
			}
		} else {
			storyOrSentence(t, c.name, "no condition", r)
		}
		if r.NetnsLeft != 0 {
			t.Errorf("%s (%s): %d network namespaces it made still exist %v after it ended", c.name, how, r.NetnsLeft, r.NetnsGone.Round(time.Millisecond))
		}
		if len(r.Procs) > 0 {
			t.Errorf("%s (%s): processes left: %v", c.name, how, r.Procs)
		}
	}
}

// Issue 19, item 5: host-icmp-established reads (and clears) the soft
// error an ICMP noted, and its last line needs an ICMP noted again
// before the user timeout. A machine too busy to run the example on
// time (here: the example stopped for a while just after its first
// write) must not make it tell another story with status 0.
func TestHostICMPEstablishedWhenSlow(t *testing.T) {
	t.Parallel()
	for _, stop := range []time.Duration{600 * time.Millisecond, 1500 * time.Millisecond, 2500 * time.Millisecond, 3500 * time.Millisecond} {
		t.Run(stop.String(), func(t *testing.T) {
			t.Parallel()
			r := run(t, "host-icmp-established", nsprobe.Spec{StopAtLine: "client: write() = 4", StopFor: stop})
			storyOrSentence(t, "host-icmp-established", "stopped "+stop.String(), r)
		})
	}
}

// Issue 19, item 6: every failure names its step. With few file
// descriptors an example fails at a step that depends on the limit;
// its one sentence must say which step, not only the errno
// ("unexpected error: too many open files").
func TestFailuresNameTheirStep(t *testing.T) {
	// Not alongside the scripts: its many short runs load the machine
	// enough to starve a timed script (host-icmp-established, seen
	// under go test -count=20 with both cores busy).
	names, err := filepath.Glob(filepath.Join(binDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		name  string
		limit int
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				cond := "ulimit -n " + itoa(j.limit)
				// What is left behind is other tests' business: do not
				// wait for the kernel to free it.
				r := run(t, j.name, nsprobe.Spec{Shell: "ip link set lo up; " + cond, Settle: -1})
				storyOrSentence(t, j.name, cond, r)
				msg := strings.TrimPrefix(strings.TrimSpace(r.Stderr), j.name+": ")
				if r.Status != 0 && (strings.Contains(msg, "unexpected error") || !strings.Contains(msg, ": ")) {
					t.Errorf("%s (%s): the failure does not name its step: %q", j.name, cond, r.Stderr)
				}
			}
		}()
	}
	// Below 10, Go's runtime itself cannot start (netpollinit).
	for _, limit := range []int{10, 13, 16, 20} {
		for _, n := range names {
			jobs <- job{filepath.Base(n), limit}
		}
	}
	close(jobs)
	wg.Wait()
}
