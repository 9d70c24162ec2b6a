// Hostile runs every example in conditions a reader's machine may
// have, and fails unless each run either tells the example's own story
// (the pinned output, status 0, nothing on stderr) or fails with one
// sentence naming the cause and a non-zero status — in time, and
// leaving nothing: no process, and none of the network namespaces the
// example made, once it has ended. Never a hang, never status 0 with
// another story.
//
// Each run happens in a user and a network namespace made for it
// (internal/nsprobe), so the machine's own namespace is never changed;
// the tool checks that its interfaces are the same at the end.
//
// Some conditions live in a network namespace (lo down, the local port
// range, IPv6): they reach an example only if it works in the
// namespace it was started in. The tool reports, for each, how many
// examples it reached (their IP counters moved there), so that a
// condition that no longer reaches them (an example that runs in a
// namespace of its own) shows as such instead of passing silently.
//
// Usage (as root):
//
//	go run ./tools/hostile             every example, every condition
//	go run ./tools/hostile -run host-  only the examples matching
//	go run ./tools/hostile -v          a line for every run
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/tools/txtar"

	"tcpedges/internal/nsprobe"
)

var (
	only    = flag.String("run", "", "only the examples whose name matches this regular expression")
	verbose = flag.Bool("v", false, "a line for every run")
	jobs    = flag.Int("j", 4, "runs at once (most of a run is waiting)")
)

// condition is what a reader's machine may impose.
type condition struct {
	name  string
	shell string // run before the example, in its network namespace
	// netns: the condition lives in the network namespace, and reaches
	// only examples that work in the one they were started in.
	netns bool
	busy  bool // every core kept busy meanwhile
	kill  bool // SIGINT at a random moment
}

const loUp = "ip link set lo up; "

var conditions = []condition{
	{name: "lo down", shell: "", netns: true},
	{name: "two local ports", shell: loUp + "sysctl -qw net.ipv4.ip_local_port_range='40000 40001'", netns: true},
	{name: "IPv6 disabled", shell: loUp + "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1", netns: true},
	{name: "16 file descriptors", shell: loUp + "ulimit -n 16"},
	{name: "SIGINT ignored", shell: loUp + "trap '' INT"},
	{name: "both cores busy", shell: loUp, busy: true},
	{name: "SIGINT at a random moment", shell: loUp, kill: true},
}

func main() {
	nsprobe.Helper()
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

func run() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root: it runs each example in a user and network namespace of its own")
	}
	start := time.Now()
	bin, err := os.MkdirTemp("", "hostile")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		return err
	}
	build := exec.Command("go", "build", "-o", bin+"/", "./examples/...")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the examples: %v", err)
	}
	entries, err := os.ReadDir(bin)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if m, _ := regexp.MatchString(*only, e.Name()); m {
			names = append(names, e.Name())
		}
	}
	links := interfaces()
	failures := 0
	for _, c := range conditions {
		t0 := time.Now()
		stop := func() {}
		if c.busy {
			stop = spin()
		}
		results := runAll(c, bin, names)
		stop()
		bad, reached := 0, 0
		for _, name := range names {
			r := results[name]
			if r.reached {
				reached++
			}
			if r.problem != "" {
				bad++
				fmt.Printf("FAIL %s, %s: %s\n", c.name, name, r.problem)
			} else if *verbose {
				fmt.Printf("ok   %s, %s: %s\n", c.name, name, r.outcome)
			}
		}
		failures += bad
		reach := ""
		if c.netns {
			reach = fmt.Sprintf("; reached %d of %d", reached, len(names))
			if reached == 0 {
				reach += " — reaches no example: they run in network namespaces of their own"
			}
		}
		fmt.Printf("%-26s %d runs, %d failed, %v%s\n", c.name, len(names), bad, time.Since(t0).Round(100*time.Millisecond), reach)
	}
	if after := interfaces(); after != links {
		return fmt.Errorf("the machine's interfaces changed from %s to %s", links, after)
	}
	fmt.Printf("%d runs in %v\n", len(names)*len(conditions), time.Since(start).Round(time.Second))
	if failures > 0 {
		return fmt.Errorf("%d runs failed", failures)
	}
	return nil
}

type result struct {
	problem string // empty when the run is acceptable
	outcome string
	reached bool
}

func runAll(c condition, bin string, names []string) map[string]result {
	results := map[string]result{}
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range *jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range work {
				r := runOne(c, bin, name)
				mu.Lock()
				results[name] = r
				mu.Unlock()
			}
		}()
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	return results
}

// runOne runs the example once under c and judges the run.
func runOne(c condition, bin, name string) result {
	spec := nsprobe.Spec{
		Path:    filepath.Join(bin, name),
		Shell:   c.shell,
		Timeout: 30 * time.Second,
		Settle:  5 * time.Second,
	}
	if c.kill {
		spec.InterruptAfter = time.Duration(rand.Int64N(int64(1500*time.Millisecond))) + time.Millisecond
	}
	r, err := nsprobe.Run(spec)
	if err != nil {
		return result{problem: err.Error()}
	}
	res := result{reached: r.Reached}
	want, err := pinned(name)
	if err != nil {
		return result{problem: err.Error()}
	}
	lines := strings.Split(strings.TrimSuffix(r.Stderr, "\n"), "\n")
	oneSentence := len(lines) == 1 && strings.HasPrefix(lines[0], name+": ")
	var problems []string
	switch {
	case r.TimedOut:
		problems = append(problems, fmt.Sprintf("still running after %v", spec.Timeout))
	case r.Status == 0 && r.Stdout == want && r.Stderr == "":
		res.outcome = "its story"
	case c.kill && r.Status == 0 && r.Stdout == want && r.Stderr == name+": interrupted by interrupt\n":
		// SIGINT came as main returned: the clean-up had begun, but
		// the program's end came first.
		res.outcome = "ended as the interrupt came"
	case r.Status == 0:
		problems = append(problems, fmt.Sprintf("status 0 with another story:\n%s%s", indent(r.Stdout), indent(r.Stderr)))
	case c.kill && r.Interrupted && r.Signaled && r.Status == 130 && r.Stderr == "":
		res.outcome = "died of SIGINT"
	case c.kill && r.Interrupted && r.Status == 130 && r.Stderr == name+": interrupted by interrupt\n":
		res.outcome = "interrupted, cleaned up"
	case oneSentence && !r.Signaled:
		res.outcome = fmt.Sprintf("status %d: %s", r.Status, lines[0])
	default:
		problems = append(problems, fmt.Sprintf("status %d (signaled %v), want one sentence on stderr, got:\n%s", r.Status, r.Signaled, indent(r.Stderr)))
	}
	if r.NetnsLeft > 0 {
		problems = append(problems, fmt.Sprintf("%d network namespaces it made still exist %v after it ended", r.NetnsLeft, r.NetnsGone.Round(time.Millisecond)))
	}
	if len(r.Procs) > 0 {
		problems = append(problems, fmt.Sprintf("processes left: %v", r.Procs))
	}
	res.problem = strings.Join(problems, "; ")
	return res
}

func pinned(name string) (string, error) {
	ar, err := txtar.ParseFile(filepath.Join("testdata", name+".txtar"))
	if err != nil {
		return "", err
	}
	for _, f := range ar.Files {
		if f.Name == "want" {
			return string(f.Data), nil
		}
	}
	return "", fmt.Errorf("testdata/%s.txtar pins no output", name)
}

// spin keeps every core busy, with a spinning shell each (as
// .ci/under-load does), until the returned function is called.
func spin() func() {
	var cmds []*exec.Cmd
	for range runtime.NumCPU() {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if cmd.Start() == nil {
			cmds = append(cmds, cmd)
		}
	}
	return func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}
}

func interfaces() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return err.Error()
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return strings.Join(names, ",")
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n    ") + "\n"
}
