// Kernels runs the book on other Linux kernels than the machine's own:
// for each kernel version asked for, it fetches Debian's kernel package
// (no install: apt-get download with a private package list, then
// dpkg-deb -x into a cache folder), boots it in a virtual machine with
// virtme-ng and qemu, runs every script of testdata there with the
// book's test binary and examples built here, and reports, for each
// example, "same as pinned" or the exact diff of what that kernel
// printed.
//
// A version is the start of a kernel release (6.1, 6.12, 6.18), a
// release (6.12.117+deb12-amd64), a glob (6.12.*+deb12-amd64) or
// "newest"; for each, the newest matching package wins. With -n the
// book runs several times in one boot, so that a difference the kernel
// makes (in every run) can be told from a race (in some). With -run
// only the scripts whose whole name the regular expression matches
// run (as go test -run 'TestScripts/(regexp)$'), which -write refuses:
// the appendix is made from every script. With -confirm N, a kernel
// whose runs show a script not the same as pinned is booted again, to
// run that script N more times: if it is the same in all of them, the
// first was a race under emulation (reported, and the call does not
// fail for it); otherwise the call fails. CI runs it so.
//
// Usage:
//
//	go run ./tools/kernels [-n runs] [-confirm n] [-run regexp] [-timeout d] [-kvm] [-json file] [-write page] [version...]
//	go run ./tools/kernels -from file[,file] [-write page]   report saved runs again; a later
//	                                                         file's results replace an earlier one's
//	go run ./tools/kernels -check page                       is the appendix page up to date?
//
// The default versions are 6.1 (Debian 12), 6.12 (Debian 13, the LTS),
// 6.18 (the kernel the outputs are pinned on, booted the same way as
// the others: the control) and newest. The guest runs under qemu's
// software emulation (TCG) unless -kvm is given. It needs qemu
// (qemu-system-x86), virtme-ng, busybox-static, apt and dpkg, and the
// network to Debian's archive; the kernels stay in the cache folder
// (-cache), everything else is removed when it ends.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/diff"
)

var defaultVersions = []string{"6.1", "6.12", "6.18", "newest"}

var (
	runs     = flag.Int("n", 1, "runs of the book in each boot")
	confirm  = flag.Int("confirm", 0, "boot a kernel again to run N more times each script that was not the same as pinned; one that is the same in all of them was a race, and does not fail the call")
	only     = flag.String("run", "", "run only the scripts whose whole name matches this regular expression")
	timeout  = flag.Duration("timeout", 0, "bound on each kernel's boot and runs (default 3m plus 8m a run)")
	useKVM   = flag.Bool("kvm", false, "use KVM instead of software emulation")
	cacheDir = flag.String("cache", defaultCache(), "folder for Debian's package lists and the unpacked kernels")
	jsonOut  = flag.String("json", "", "also write every run's results, as JSON, to this file")
	from     = flag.String("from", "", "boot nothing: report the results -json wrote to these files (comma-separated)")
	write    = flag.String("write", "", "also write the results as the appendix page FILE, and its record FILE.json")
	check    = flag.String("check", "", "boot nothing: exit 1 if the appendix page FILE is not what its record makes, or testdata changed since")
)

func defaultCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "tcp-edges", "kernels")
}

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: kernels [-n runs] [-confirm n] [-run regexp] [-timeout d] [-kvm] [-cache dir] [-json file] [-write page] [version...]\n       kernels -from file[,file] [-write page]\n       kernels -check page")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *runs < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if *only != "" && *write != "" {
		fmt.Fprintln(os.Stderr, "kernels: -write makes the appendix from every script; it cannot be given with -run")
		os.Exit(2)
	}
	if *timeout == 0 {
		*timeout = 3*time.Minute + time.Duration(*runs)*8*time.Minute
	}
	versions := flag.Args()
	if len(versions) == 0 {
		versions = defaultVersions
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runner := runAll
	switch {
	case *check != "":
		runner = func(context.Context, []string) (bool, error) {
			scripts, err := loadScripts(".")
			if err != nil {
				return false, err
			}
			return true, checkAppendix(*check, scripts)
		}
	case *from != "":
		runner = func(context.Context, []string) (bool, error) { return reportFile(*from) }
	}
	same, err := runner(ctx, versions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kernels:", err)
		os.Exit(1)
	}
	if !same {
		os.Exit(1)
	}
}

// needs are the programs the tool runs, and where a reader gets each.
var needs = []struct{ program, from string }{
	{"go", "Go"},
	{"apt-get", "apt"},
	{"dpkg-deb", "dpkg"},
	{"depmod", "kmod"},
	{"qemu-system-x86_64", "qemu-system-x86"},
	{"busybox", "busybox-static"}, // for virtme-ng's initramfs
	{"vng", "virtme-ng, in Debian 13 and Ubuntu, or on Debian 12 from trixie by apt-get download and apt-get install ./virtme-ng_*.deb"},
}

// missing names, in one sentence, what the machine lacks to run a
// kernel, and the package that has each, or returns "".
func missing(lookPath func(string) (string, error)) string {
	var lack []string
	for _, n := range needs {
		if _, err := lookPath(n.program); err != nil {
			lack = append(lack, fmt.Sprintf("%s (%s)", n.program, n.from))
		}
	}
	if len(lack) == 0 {
		return ""
	}
	return "cannot boot another kernel without " + strings.Join(lack, "; ")
}

func runAll(ctx context.Context, versions []string) (bool, error) {
	if m := missing(exec.LookPath); m != "" {
		return false, errors.New(m)
	}
	root, err := os.Getwd()
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(filepath.Join(root, "testdata")); err != nil {
		return false, errors.New("run it from the book's root folder, where testdata/ is")
	}
	if err := os.MkdirAll(*cacheDir, 0o755); err != nil {
		return false, err
	}
	debian := archive{dir: filepath.Join(*cacheDir, "apt")}
	if err := debian.update(); err != nil {
		return false, err
	}
	kernels, err := debian.resolve(versions)
	if err != nil {
		return false, err
	}
	work, err := os.MkdirTemp(*cacheDir, "work-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(work)
	// Readable by all, as book_test.go's own: a script runs an example
	// as an unprivileged user.
	if err := os.Chmod(work, 0o755); err != nil {
		return false, err
	}
	b, err := build(root, work, *only)
	if err != nil {
		return false, err
	}

	var all []kernelRun
	same := true
	for i, k := range kernels {
		fmt.Printf("== %s: %s %s\n", k.Spec, k.Package, k.Version)
		img, err := debian.unpack(k, filepath.Join(*cacheDir, k.Release))
		if err != nil {
			return false, err
		}
		kctx, cancel := context.WithTimeout(ctx, *timeout)
		dir := filepath.Join(work, fmt.Sprintf("kernel%d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			cancel()
			return false, err
		}
		kr, err := boot(kctx, b, img, dir, *runs, *useKVM)
		cancel()
		if err != nil && kr.Uname == "" && ctx.Err() == nil {
			// The guest never started the book: qemu or virtme-ng
			// failed to start (seen twice in about twenty boots here:
			// exit status 255 within seconds, nothing said). Once
			// more, in a folder of its own.
			fmt.Printf("%s: %v; booting it once more\n", k.Release, err)
			dir += "-again"
			if err := os.Mkdir(dir, 0o755); err != nil {
				return false, err
			}
			kctx, cancel = context.WithTimeout(ctx, *timeout)
			kr, err = boot(kctx, b, img, dir, *runs, *useKVM)
			cancel()
		}
		kr.Kernel, kr.Pinned = k, digests(b.scripts)
		if names := notSame(b, kr); err == nil && *confirm > 0 && len(names) > 0 {
			fmt.Printf("%s: %s not the same as pinned; booting again to run them %d more time(s)\n",
				k.Release, strings.Join(names, ", "), *confirm)
			kr.Confirm, err = confirmRuns(ctx, b, names, img, dir, *confirm)
		}
		all = append(all, kr)
		if !report(os.Stdout, b, kr) {
			same = false
		}
		if err != nil {
			fmt.Printf("%s: %v\n", k.Release, err)
			same = false
		}
		if ctx.Err() != nil {
			return false, errors.New("interrupted")
		}
	}
	matrix(os.Stdout, b, all)
	if *write != "" {
		if err := writeAppendix(*write, b, all); err != nil {
			return false, err
		}
	}
	if *jsonOut != "" {
		data, err := json.MarshalIndent(all, "", "\t")
		if err != nil {
			return false, err
		}
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			return false, err
		}
	}
	return same, nil
}

// A kernelRun is one boot of one kernel and the book's runs in it.
type kernelRun struct {
	Kernel kernel        `json:"kernel"`
	Uname  string        `json:"uname"` // what the guest's uname -r said
	Accel  string        `json:"accel"` // tcg or kvm
	Boot   time.Duration `json:"boot"`  // from starting virtme-ng to the guest's first command
	Took   time.Duration `json:"took"`  // the whole boot, runs and power-off
	Runs   []run         `json:"runs"`
	// Confirm are the runs of a second boot (-confirm), of the scripts
	// that were not the same as pinned in Runs.
	Confirm []run `json:"confirm,omitempty"`
	// Pinned are the digests of the scripts the runs were compared with.
	Pinned map[string]string `json:"pinned"`
}

type run struct {
	Took    time.Duration     `json:"took"`
	Exit    int               `json:"exit"` // the test binary's
	Scripts map[string]result `json:"scripts"`
}

// A result is one script's in one run.
type result struct {
	// pass (same as pinned), differs (passed with another output),
	// fail, skip or missing (the run never reported it).
	Status string `json:"status"`
	// Script is the script with the outputs this kernel printed, where
	// they differ from the pinned ones.
	Script string `json:"script,omitempty"`
	Log    string `json:"log,omitempty"` // the test's log, unless it passed
}

// report prints, for each script, what the kernel did in all its runs,
// and returns whether every script was the same as pinned in every run.
func report(w *os.File, b book, kr kernelRun) bool {
	fmt.Fprintf(w, "%s (uname -r %s), %s: booted in %v, %d run(s) in %v\n",
		kr.Kernel.Release, kr.Uname, kr.Accel, kr.Boot.Round(100*time.Millisecond),
		len(kr.Runs), kr.Took.Round(time.Second))
	for i, r := range kr.Runs {
		fmt.Fprintf(w, "  run %d: %v, test binary exit %d\n", i+1, r.Took.Round(time.Second), r.Exit)
	}
	if len(kr.Runs) == 0 {
		return false
	}
	names := make([]string, 0, len(b.scripts))
	for name := range b.scripts {
		names = append(names, name)
	}
	slices.Sort(names)
	allSame := true
	for _, name := range names {
		outcomes, counts := outcomesOf(kr.Runs, name)
		if len(outcomes) == 1 && outcomes[0].Status == "pass" {
			fmt.Fprintf(w, "  %-32s same as pinned\n", name)
			continue
		}
		if again, n := confirmed(kr.Confirm, name); n > 0 {
			if again {
				fmt.Fprintf(w, "  %-32s same as pinned in all %d runs of a second boot: a race, not the kernel (below, the first boot's)\n", name, n)
			} else {
				fmt.Fprintf(w, "  %-32s not the same as pinned in a second boot either\n", name)
				allSame = false
			}
		} else {
			allSame = false
		}
		if len(outcomes) > 1 {
			fmt.Fprintf(w, "  %-32s varies: in %d runs, %d outcomes (a race, unless a kernel's runs all agree)\n", name, len(kr.Runs), len(outcomes))
		}
		for i, o := range outcomes {
			fmt.Fprintf(w, "  %-32s %s in %d of %d run(s)\n", name, describe(o.Status), counts[i], len(kr.Runs))
			if o.Script != "" {
				d := diff.Diff("pinned/"+name+".txtar", b.scripts[name], kr.Kernel.Release+"/"+name+".txtar", []byte(o.Script))
				w.Write(indent(d, "      "))
			}
			if o.Status == "fail" {
				w.Write(indent([]byte(lastLines(o.Log, 12)), "      | "))
			}
		}
	}
	return allSame
}

// notSame names the scripts that were not the same as pinned in some
// run of kr.
func notSame(b book, kr kernelRun) []string {
	var names []string
	for name := range b.scripts {
		if outcomes, _ := outcomesOf(kr.Runs, name); len(outcomes) != 1 || outcomes[0].Status != "pass" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// confirmRuns boots the kernel again and runs the scripts named n
// times: a race shows in some runs, what the kernel does in all.
func confirmRuns(ctx context.Context, b book, names []string, img, dir string, n int) ([]run, error) {
	cb := book{test: b.test, bin: b.bin, scripts: map[string][]byte{}}
	quoted := make([]string, len(names))
	for i, name := range names {
		cb.scripts[name] = b.scripts[name]
		quoted[i] = regexp.QuoteMeta(name)
	}
	cb.run = "^TestScripts$/^(" + strings.Join(quoted, "|") + ")$"
	kctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	dir += "-confirm"
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	kr, err := boot(kctx, cb, img, dir, n, *useKVM)
	return kr.Runs, err
}

// confirmed reports whether the script was the same as pinned in
// every run of the second boot, and in how many runs it ran there.
func confirmed(runs []run, name string) (bool, int) {
	n, same := 0, true
	for _, r := range runs {
		res, ok := r.Scripts[name]
		if !ok {
			continue
		}
		n++
		same = same && res.Status == "pass"
	}
	return same, n
}

// outcomesOf groups a script's results over the runs: same status and
// same output are one outcome. Logs are left out of the comparison:
// they hold times.
func outcomesOf(runs []run, name string) ([]result, []int) {
	var outcomes []result
	var counts []int
	for _, r := range runs {
		res := r.Scripts[name]
		i := slices.IndexFunc(outcomes, func(o result) bool {
			return o.Status == res.Status && o.Script == res.Script
		})
		if i < 0 {
			outcomes = append(outcomes, res)
			counts = append(counts, 0)
			i = len(outcomes) - 1
		}
		counts[i]++
	}
	return outcomes, counts
}

func describe(status string) string {
	switch status {
	case "pass":
		return "same as pinned"
	case "differs":
		return "differs"
	case "fail":
		return "fails"
	case "skip":
		return "skipped"
	}
	return "no result"
}

func indent(b []byte, prefix string) []byte {
	lines := strings.SplitAfter(string(b), "\n")
	var out strings.Builder
	for _, l := range lines {
		if l != "" {
			out.WriteString(prefix + l)
		}
	}
	return []byte(out.String())
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n")+"\n", "\n")
	lines = lines[:len(lines)-1]
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// matrix prints, for every example that was not the same as pinned on
// every kernel, one line with a mark per kernel: = same as pinned in
// every run, ≠ the same other output in every run (the kernel's own),
// ~ more than one outcome over the runs (a race), ✗ failed, skipped
// or missing in every run, ? not run.
func matrix(w *os.File, b book, all []kernelRun) {
	names := make([]string, 0, len(b.scripts))
	for name := range b.scripts {
		names = append(names, name)
	}
	slices.Sort(names)
	var head strings.Builder
	fmt.Fprintf(&head, "%-32s", "example")
	for _, kr := range all {
		fmt.Fprintf(&head, " %-22s", kr.Kernel.Release)
	}
	fmt.Fprintf(w, "\n== matrix (= same as pinned, ≠ differs in every run, ~ varies, ✗ fails)\n%s\n", strings.TrimRight(head.String(), " "))
	shown := 0
	for _, name := range names {
		var line strings.Builder
		fmt.Fprintf(&line, "%-32s", name)
		allSame := true
		for _, kr := range all {
			mark := mark(kr.Runs, name)
			if mark != "=" {
				allSame = false
			}
			fmt.Fprintf(&line, " %-22s", fmt.Sprintf("%s (%d runs)", mark, len(kr.Runs)))
		}
		if !allSame {
			fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
			shown++
		}
	}
	fmt.Fprintf(w, "%d of %d examples the same as pinned on every kernel, in every run\n", len(names)-shown, len(names))
}

func mark(runs []run, name string) string {
	if len(runs) == 0 {
		return "?"
	}
	outcomes, _ := outcomesOf(runs, name)
	switch {
	case len(outcomes) > 1:
		return "~"
	case outcomes[0].Status == "pass":
		return "="
	case outcomes[0].Status == "differs":
		return "≠"
	}
	return "✗"
}

// reportFile reports the results of earlier runs, from one or more
// files that -json wrote, against the scripts as they are pinned now.
func reportFile(paths string) (bool, error) {
	var all []kernelRun
	for _, path := range strings.Split(paths, ",") {
		data, err := os.ReadFile(path)
		if err != nil {
			return false, err
		}
		var runs []kernelRun
		if err := json.Unmarshal(data, &runs); err != nil {
			return false, fmt.Errorf("%s: %v", path, err)
		}
		all = append(all, runs...)
	}
	all, err := mergeRuns(all)
	if err != nil {
		return false, err
	}
	scripts, err := loadScripts(".")
	if err != nil {
		return false, err
	}
	b := book{scripts: scripts}
	same := true
	for _, kr := range all {
		fmt.Printf("== %s: %s %s\n", kr.Kernel.Spec, kr.Kernel.Package, kr.Kernel.Version)
		if !report(os.Stdout, b, kr) {
			same = false
		}
	}
	matrix(os.Stdout, b, all)
	if *write != "" {
		if err := writeAppendix(*write, b, all); err != nil {
			return false, err
		}
	}
	return same, nil
}

// mergeRuns joins the runs made on one kernel by several calls, so that
// after a change to a few scripts only those need to run again
// (-run), not the whole book: for each kernel, a later file's results
// replace an earlier one's for the scripts it ran. The scripts each
// result was compared with go along (Pinned), so -write still refuses
// a result made with a script other than testdata's.
func mergeRuns(all []kernelRun) ([]kernelRun, error) {
	var merged []kernelRun
	at := map[string]int{} // release → index in merged
	for _, kr := range all {
		i, ok := at[kr.Kernel.Release]
		if !ok {
			at[kr.Kernel.Release] = len(merged)
			kr.Runs = slices.Clone(kr.Runs)
			merged = append(merged, kr)
			continue
		}
		m := &merged[i]
		if len(m.Runs) != len(kr.Runs) {
			return nil, fmt.Errorf("%s: runs made with -n %d and -n %d cannot be joined", kr.Kernel.Release, len(m.Runs), len(kr.Runs))
		}
		pinned := maps.Clone(m.Pinned)
		maps.Copy(pinned, kr.Pinned)
		m.Pinned = pinned
		for j := range m.Runs {
			scripts := maps.Clone(m.Runs[j].Scripts)
			maps.Copy(scripts, kr.Runs[j].Scripts)
			m.Runs[j].Scripts = scripts
		}
		m.Kernel, m.Uname, m.Accel = kr.Kernel, kr.Uname, kr.Accel
	}
	return merged, nil
}
