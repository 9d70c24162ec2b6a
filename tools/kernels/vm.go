package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A book is the test binary of the root package and the examples,
// built on the host, and the pinned scripts; a guest runs them from
// the host's file system, which it sees read-only.
type book struct {
	test    string            // the test binary
	bin     string            // the examples, for TCPEDGES_BIN
	scripts map[string][]byte // testdata/<name>.txtar by name, as pinned
	run     string            // the test binary's -test.run
}

// build compiles the book into dir: static binaries, as a guest's
// kernel is not the one they were built on. With only, a regular
// expression, the book is the scripts whose whole name it matches.
func build(root, dir, only string) (book, error) {
	b := book{test: filepath.Join(dir, "book.test"), bin: filepath.Join(dir, "bin"), run: "^TestScripts$"}
	var match *regexp.Regexp
	if only != "" {
		var err error
		if match, err = regexp.Compile("^(" + only + ")$"); err != nil {
			return b, fmt.Errorf("-run: %v", err)
		}
		b.run = "^TestScripts$/^(" + only + ")$"
	}
	env := append(os.Environ(), "CGO_ENABLED=0")
	for _, args := range [][]string{
		{"test", "-c", "-o", b.test, "."},
		{"build", "-o", b.bin + string(filepath.Separator), "./examples/..."},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = root, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go %s: %s", args[0], firstError(out, err))
		}
	}
	var err error
	if b.scripts, err = loadScripts(root); err != nil || match == nil {
		return b, err
	}
	for name := range b.scripts {
		if !match.MatchString(name) {
			delete(b.scripts, name)
		}
	}
	if len(b.scripts) == 0 {
		return b, fmt.Errorf("-run %s matches no script in testdata", only)
	}
	return b, nil
}

// loadScripts reads the pinned scripts, testdata/<name>.txtar, by name.
func loadScripts(root string) (map[string][]byte, error) {
	scripts := map[string][]byte{}
	paths, _ := filepath.Glob(filepath.Join(root, "testdata", "*.txtar"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		scripts[strings.TrimSuffix(filepath.Base(p), ".txtar")] = data
	}
	if len(scripts) == 0 {
		return nil, fmt.Errorf("no scripts in %s", filepath.Join(root, "testdata"))
	}
	return scripts, nil
}

// guestParallel is how many scripts a guest runs at once: fewer than
// the 16 of a native run, as under software emulation the programs,
// not the kernel's timers, take most of the time, and a program
// starved of its CPU for long races with the timers it shows.
const guestParallel = 6

// guestScript runs the book n times in the guest, each run in its own
// copy of testdata with -update, so that a run leaves the outputs the
// kernel really printed in its copy. Each step leaves a file in the
// work folder: the host reads the times from their modification times.
const guestScript = `#!/bin/sh
# Written by tools/kernels; runs in the guest as root.
work=%[1]s
uname -r >"$work/started"
# The scripts' work folders, in the guest's memory (/run is a tmpfs).
export TCPEDGES_BIN=%[2]s TMPDIR=/run/tcp-edges
mkdir -p "$TMPDIR"
for i in $(seq %[3]d); do
	cd "$work/run$i" || exit 1
	: >begin
	%[4]s -test.run '%[6]s' -test.parallel=%[7]d -test.v=test2json -test.count=1 \
		-test.timeout=%[5]s -update >test.out 2>&1
	echo $? >status
done
`

// boot runs the book on kernel image img under virtme-ng, n times in
// one boot, in work, and returns the runs' results. It kills the
// virtual machine when ctx ends.
func boot(ctx context.Context, b book, img, work string, n int, kvm bool) (kernelRun, error) {
	var kr kernelRun
	for i := 1; i <= n; i++ {
		dir := filepath.Join(work, fmt.Sprintf("run%d", i), "testdata")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return kr, err
		}
		for name, data := range b.scripts {
			if err := os.WriteFile(filepath.Join(dir, name+".txtar"), data, 0o644); err != nil {
				return kr, err
			}
		}
	}
	deadline, _ := ctx.Deadline()
	script := fmt.Sprintf(guestScript, work, b.bin, n, b.test, time.Until(deadline).Round(time.Second), b.run, guestParallel)
	if err := os.WriteFile(filepath.Join(work, "guest.sh"), []byte(script), 0o755); err != nil {
		return kr, err
	}
	args := []string{
		"--run", img,
		"--user", "root",
		"--cpus", "2", "--memory", "2G",
		// guest=host: virtme-ng 1.35 accepts a writable folder outside
		// its overlays only when it is named both ways.
		"--rwdir=" + work + "=" + work,
		"--cwd", work,
		"--exec", "sh " + filepath.Join(work, "guest.sh"),
	}
	kr.Accel = "kvm"
	if !kvm {
		args = append([]string{"--disable-kvm"}, args...)
		kr.Accel = "tcg"
	}
	cmd := exec.Command("vng", args...)
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	// Its own process group, so that a time-out ends qemu too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return kr, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		err = fmt.Errorf("did not finish within %v", time.Since(start).Round(time.Second))
	}
	kr.Took = time.Since(start)
	started, serr := os.Stat(filepath.Join(work, "started"))
	if serr != nil {
		if err == nil {
			err = errors.New("the guest never ran the book")
		}
		return kr, fmt.Errorf("%v; virtme-ng said: %s", err, tail(console.String(), 5))
	}
	kr.Boot = started.ModTime().Sub(start)
	uname, _ := os.ReadFile(filepath.Join(work, "started"))
	kr.Uname = strings.TrimSpace(string(uname))
	for i := 1; i <= n; i++ {
		r, rerr := readRun(b, filepath.Join(work, fmt.Sprintf("run%d", i)))
		if rerr != nil {
			return kr, fmt.Errorf("run %d: %v (virtme-ng: %v)", i, rerr, err)
		}
		kr.Runs = append(kr.Runs, r)
	}
	return kr, err
}

// readRun reads one run's results: test2json's events for pass, fail
// and skip, and the outputs the run wrote into its copy of testdata.
func readRun(b book, dir string) (run, error) {
	r := run{Scripts: map[string]result{}}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return r, errors.New("did not finish")
	}
	begin, _ := os.Stat(filepath.Join(dir, "begin"))
	end, _ := os.Stat(filepath.Join(dir, "status"))
	r.Took = end.ModTime().Sub(begin.ModTime())
	r.Exit, _ = strconv.Atoi(strings.TrimSpace(string(status)))

	raw, err := os.Open(filepath.Join(dir, "test.out"))
	if err != nil {
		return r, err
	}
	defer raw.Close()
	conv := exec.Command("go", "tool", "test2json", "-t")
	conv.Stdin = raw
	events, err := conv.Output()
	if err != nil {
		return r, fmt.Errorf("go tool test2json: %v", err)
	}
	logs := map[string]*strings.Builder{}
	sc := bufio.NewScanner(bytes.NewReader(events))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var e struct{ Action, Test, Output string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return r, fmt.Errorf("test2json: %v", err)
		}
		name, ok := strings.CutPrefix(e.Test, "TestScripts/")
		if !ok {
			continue
		}
		switch e.Action {
		case "output":
			if logs[name] == nil {
				logs[name] = &strings.Builder{}
			}
			logs[name].WriteString(e.Output)
		case "pass", "fail", "skip":
			res := result{Status: e.Action}
			if e.Action != "pass" {
				res.Log = logs[name].String()
			}
			r.Scripts[name] = res
		}
	}
	for name, pinned := range b.scripts {
		res, ok := r.Scripts[name]
		if !ok {
			r.Scripts[name] = result{Status: "missing"}
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, "testdata", name+".txtar"))
		if err != nil {
			return r, err
		}
		if !bytes.Equal(got, pinned) {
			res.Script = string(got)
			if res.Status == "pass" {
				res.Status = "differs"
			}
			r.Scripts[name] = res
		}
	}
	return r, nil
}

// tail is the last n lines of s, on one line.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
