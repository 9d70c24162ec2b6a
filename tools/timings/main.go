// Timings runs every example several times and reports, for each, the
// median wall time next to the inherent wait of the behaviour it shows,
// and whether it meets the book's goal:
//
//   - an example with no inherent wait (everything on loopback) ends in
//     under 100 ms;
//   - an example that waits for a timer on purpose (an RTO, keepalive
//     probes, a user timeout, SYN retries) ends within 1.5 times that
//     wait.
//
// The inherent wait is declared in the example's source, next to the
// code that sets the timer, by a directive comment the tool reads:
//
//	//tcpedges:wait 3s keepalive: 1 s idle, then 2 probes 1 s apart
//
// An example without one declares zero. An example that cannot meet
// its goal says why with //tcpedges:slow <reason>; the reason is shown
// in the table.
//
// Usage:
//
//	go run ./tools/timings                 print the table
//	go run ./tools/timings -write FILE     write it as the appendix page
//	go run ./tools/timings -check          exit 1 if a goal is missed without a reason
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

var (
	runs  = flag.Int("n", 5, "runs of each example")
	write = flag.String("write", "", "write the table as a Markdown page to this file")
	check = flag.Bool("check", false, "exit 1 if an example misses its goal without a //tcpedges:slow reason")
	only  = flag.String("run", "", "only the examples whose name matches this regular expression")
)

type example struct {
	name, chapter   string
	wait            time.Duration
	waitWhy, slow   string
	median, longest time.Duration
}

// limit is the goal for the example.
func (e example) limit() time.Duration {
	if e.wait == 0 {
		return 100 * time.Millisecond
	}
	return e.wait * 3 / 2
}

func (e example) met() bool { return e.median <= e.limit() }

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: timings [-n runs] [-run regexp] [-write file] [-check]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 || *runs < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "timings:", err)
		os.Exit(1)
	}
}

func run() error {
	filter, err := regexp.Compile(*only)
	if err != nil {
		return err
	}
	examples, err := load(filter)
	if err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "timings")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	build := exec.Command("go", "build", "-o", bin+"/", "./examples/...")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the examples: %v", err)
	}
	for i := range examples {
		e := &examples[i]
		var times []time.Duration
		for range *runs {
			start := time.Now()
			cmd := exec.Command(filepath.Join(bin, e.name))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %v: %s", e.name, err, stderr.Bytes())
			}
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		e.median, e.longest = times[len(times)/2], times[len(times)-1]
		fmt.Fprintf(os.Stderr, "%-36s %8v\n", e.name, e.median.Round(time.Millisecond))
	}
	table := render(examples)
	if *write != "" {
		if err := os.WriteFile(*write, []byte(page(table)), 0o644); err != nil {
			return err
		}
	} else {
		fmt.Print(table)
	}
	if *check {
		var missed []string
		for _, e := range examples {
			if !e.met() && e.slow == "" {
				missed = append(missed, fmt.Sprintf("%s (%v, goal %v)", e.name, e.median.Round(time.Millisecond), e.limit()))
			}
		}
		if len(missed) > 0 {
			return fmt.Errorf("missed the goal without a //tcpedges:slow reason: %s", strings.Join(missed, ", "))
		}
	}
	return nil
}

var (
	waitRE = regexp.MustCompile(`(?m)^\s*//tcpedges:wait (\S+)[ \t]*(.*)$`)
	slowRE = regexp.MustCompile(`(?m)^\s*//tcpedges:slow (.+)$`)
	codeRE = regexp.MustCompile(`(?m)^<!-- code: ([a-z0-9-]+) -->$`)
)

// load reads the examples' declarations, and which chapter shows each.
func load(filter *regexp.Regexp) ([]example, error) {
	chapterOf := map[string]string{}
	chapters, _ := filepath.Glob("chapters/*.md")
	for _, c := range chapters {
		md, err := os.ReadFile(c)
		if err != nil {
			return nil, err
		}
		for _, m := range codeRE.FindAllSubmatch(md, -1) {
			chapterOf[string(m[1])] = strings.TrimSuffix(filepath.Base(c), ".md")
		}
	}
	sources, _ := filepath.Glob("examples/*/main.go")
	var examples []example
	for _, src := range sources {
		name := filepath.Base(filepath.Dir(src))
		if !filter.MatchString(name) {
			continue
		}
		code, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		e := example{name: name, chapter: chapterOf[name]}
		if m := waitRE.FindSubmatch(code); m != nil {
			if e.wait, err = time.ParseDuration(string(m[1])); err != nil {
				return nil, fmt.Errorf("%s: //tcpedges:wait: %v", src, err)
			}
			e.waitWhy = string(m[2])
		}
		if m := slowRE.FindSubmatch(code); m != nil {
			e.slow = string(m[1])
		}
		examples = append(examples, e)
	}
	slices.SortFunc(examples, func(a, b example) int {
		return strings.Compare(a.chapter+a.name, b.chapter+b.name)
	})
	return examples, nil
}

func render(examples []example) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| Example | Chapter | Median | Inherent wait | Ratio | Goal |\n")
	fmt.Fprintf(&b, "|---|---|--:|---|--:|---|\n")
	for _, e := range examples {
		wait, ratio := "0 (loopback)", "—"
		if e.wait > 0 {
			wait = e.wait.String()
			if e.waitWhy != "" {
				wait += ": " + e.waitWhy
			}
			ratio = fmt.Sprintf("%.2f", float64(e.median)/float64(e.wait))
		}
		goal := fmt.Sprintf("met (≤ %v)", e.limit())
		if !e.met() {
			goal = fmt.Sprintf("missed (> %v)", e.limit())
			if e.slow != "" {
				goal += ": " + e.slow
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %v | %s | %s | %s |\n",
			e.name, e.chapter, e.median.Round(time.Millisecond), wait, ratio, goal)
	}
	return b.String()
}

func page(table string) string {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var b strings.Builder
	fmt.Fprintf(&b, "# Appendix: how long each example takes\n\n")
	fmt.Fprintf(&b, "Generated by `go run ./tools/timings -write chapters/appendix-timings.md`, ")
	fmt.Fprintf(&b, "which runs every example %d times as root and reports the median wall time, ", *runs)
	fmt.Fprintf(&b, "on Linux %s with %d cores.\n\n", strings.TrimSpace(string(kernel)), runtime.NumCPU())
	b.WriteString(`The *inherent wait* is the time the behaviour itself takes — zero on
loopback, or the retransmission timeout, keepalive probes, user timeout or SYN
retries an example waits for on purpose. Each example declares it in its source
(` + "`//tcpedges:wait`" + `), next to the socket option or sysctl that makes it short. The
goal: a loopback example ends in under 100 ms; a timer example within 1.5 times
its inherent wait.

`)
	b.WriteString(table)
	return b.String()
}
