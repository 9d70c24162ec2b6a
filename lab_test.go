package tcpedges_test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A lab example leaves nothing behind, whether it ends by itself or is
// interrupted with SIGINT mid-run: no network namespace (held by a
// process, a descriptor or an nsfs mount), no process, and no
// interface in the machine's own namespace.
func TestLabLeavesNothing(t *testing.T) {
	usesExamples(t)
	for _, interrupt := range []bool{false, true} {
		links := interfaces(t)
		cmd := exec.Command(filepath.Join(binDir, "host-shutdown-vs-crash"))
		if interrupt {
			cmd = exec.Command(filepath.Join(binDir, "host-crash-idle-keepalive"))
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Mid-run: the hosts exist, the example waits for keepalive.
		sc := bufio.NewScanner(out)
		var seen map[string]bool
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "connected") || sc.Text() == "the server host crashes" {
				seen = namespacesOf(t, cmd.Process.Pid)
				if interrupt {
					cmd.Process.Signal(syscall.SIGINT)
				}
				break
			}
		}
		for sc.Scan() {
		}
		err = cmd.Wait()
		if interrupt {
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 ||
				stderr.String() != "host-crash-idle-keepalive: interrupted by interrupt\n" {
				t.Errorf("after SIGINT: %v, stderr %q; want status 130 and one line", err, stderr.String())
			}
		} else if err != nil {
			t.Errorf("host-shutdown-vs-crash: %v, stderr %q", err, stderr.String())
		}
		if len(seen) < 4 {
			t.Fatalf("saw %d network namespaces of the example mid-run, want its 3 hosts and its own: %v", len(seen), seen)
		}
		for ns := range seen {
			if holders := holdersOf(t, ns); len(holders) > 0 {
				t.Errorf("interrupt=%v: %s is still held by %v", interrupt, ns, holders)
			}
		}
		if after := interfaces(t); after != links {
			t.Errorf("interrupt=%v: the machine's interfaces changed from %s to %s", interrupt, links, after)
		}
	}
}

// namespacesOf returns the network namespaces that process pid, or a
// process it started, holds through a descriptor or a thread, other
// than the one the process itself is in: the hosts of a lab. The
// example's own namespace, which it entered at start, is returned too
// once it holds hosts, so that its removal is checked as well.
func namespacesOf(t *testing.T, pid int) map[string]bool {
	found := map[string]bool{}
	var own []string
	for _, p := range family(pid) {
		dir := filepath.Join("/proc", itoa(p))
		self, _ := os.Readlink(filepath.Join(dir, "ns", "net"))
		own = append(own, self)
		links, _ := filepath.Glob(filepath.Join(dir, "fd", "*"))
		tasks, _ := filepath.Glob(filepath.Join(dir, "task", "*", "ns", "net"))
		for _, l := range append(links, tasks...) {
			if target, err := os.Readlink(l); err == nil && strings.HasPrefix(target, "net:[") && target != self {
				found[target] = true
			}
		}
	}
	if len(found) > 0 {
		host, _ := os.Readlink("/proc/self/ns/net")
		for _, ns := range own {
			if ns != host && ns != "" {
				found[ns] = true
			}
		}
	}
	return found
}

// family is pid and every process it started, and theirs.
func family(pid int) []int {
	pids := []int{pid}
	for i := 0; i < len(pids); i++ {
		files, _ := filepath.Glob(filepath.Join("/proc", itoa(pids[i]), "task", "*", "children"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, c := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(c); err == nil {
					pids = append(pids, n)
				}
			}
		}
	}
	return pids
}

// holdersOf lists what still holds the namespace ns ("net:[...]"):
// any process running one of the examples (the example itself, or a
// child it started), and nsfs mounts. Other processes are not asked:
// once freed, a namespace's number may be given to another program's.
func holdersOf(t *testing.T, ns string) []string {
	var holders []string
	exes, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, exe := range exes {
		if target, err := os.Readlink(exe); err == nil && strings.HasPrefix(target, binDir+"/") {
			holders = append(holders, "process "+filepath.Dir(exe)+" "+target)
		}
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if strings.Contains(line, ns) {
			holders = append(holders, "mount: "+line)
		}
	}
	return holders
}

func interfaces(t *testing.T) string {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return strings.Join(names, ",")
}

func itoa(n int) string { return strconv.Itoa(n) }

// Every example that makes hosts (network namespaces) removes them all
// when SIGINT interrupts it mid-run: it is started, interrupted as soon
// as it holds a namespace of its own, and must end with status 130 (or
// 0, when it finished first) leaving no namespace, process, mount or
// interface behind.
func TestEveryLabExampleCleansUpOnSIGINT(t *testing.T) {
	usesExamples(t)
	sources, _ := filepath.Glob("examples/*/main.go")
	for _, src := range sources {
		code, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(code), "edge.NewHost(") && !strings.Contains(string(code), "edge.NewLab(") {
			continue
		}
		name := filepath.Base(filepath.Dir(src))
		t.Run(name, func(t *testing.T) {
			links := interfaces(t)
			cmd := exec.Command(filepath.Join(binDir, name))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// Watch /proc until the example holds a namespace of its
			// own, then interrupt it. There is no event to wait on
			// for "another process made a namespace", so ask again.
			var seen map[string]bool
			var err error
			tick := time.NewTicker(200 * time.Microsecond)
			defer tick.Stop()
		watch:
			for {
				select {
				case err = <-done:
					break watch
				case <-tick.C:
					if seen = namespacesOf(t, cmd.Process.Pid); len(seen) > 0 {
						cmd.Process.Signal(syscall.SIGINT)
						err = <-done
						break watch
					}
				}
			}
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			want := name + ": interrupted by interrupt\n"
			switch {
			case code == 130 && strings.Contains(stderr.String(), want):
			case code == 0 && stderr.Len() == 0:
				t.Logf("ended before the interrupt")
			default:
				t.Errorf("status %d, stderr %q; want 130 and %q", code, stderr.String(), want)
			}
			for ns := range seen {
				if holders := holdersOf(t, ns); len(holders) > 0 {
					t.Errorf("%s is still held by %v", ns, holders)
				}
			}
			if after := interfaces(t); after != links {
				t.Errorf("the machine's interfaces changed from %s to %s", links, after)
			}
		})
	}
}
