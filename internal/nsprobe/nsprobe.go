// Package nsprobe runs a program in conditions a reader's machine may
// impose, inside a user and a network namespace made for the run, and
// reports what the program left behind once it ended.
//
// The observable for "no network namespace left" is the kernel's own
// count of network namespaces charged to a user namespace (ucounts,
// the count user.max_net_namespaces limits). Every network namespace
// the program makes, at any depth, is charged to the run's user
// namespace until the kernel frees it (cleanup_net), whatever still
// holds it: a process, a descriptor, a mount, or a socket no process
// holds any more (an orphan in FIN_WAIT1, say). The kernel does not
// print that count, so the helper measures it: with the limit set to
// [limit], it makes network namespaces until the kernel refuses one
// (ENOSPC); those it could not make are the ones still charged.
package nsprobe

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// helperEnv marks the process [Run] starts inside the new namespaces.
const helperEnv = "TCPEDGES_NSPROBE_SPEC"

// limit is user.max_net_namespaces inside the run's user namespace:
// its own network namespace, and room for a lab (three hosts) and more.
const limit = 12

// Spec says how to run a program.
type Spec struct {
	Path string // the program
	// Shell is run by /bin/sh before the program, inside the run's
	// network namespace, which starts with lo down: "ip link set lo
	// up; ulimit -n 16; trap '' INT".
	Shell string
	// Interrupt sends SIGINT to the program once a line of its
	// standard output starts with InterruptAtLine, or, when that is
	// empty and InterruptAfter is not zero, after that long.
	InterruptAtLine string
	InterruptAfter  time.Duration
	// StopAtLine stops the program (SIGSTOP) for StopFor once a line
	// of its output starts with it: a machine too busy to run it.
	StopAtLine string
	StopFor    time.Duration
	Timeout    time.Duration // killed (SIGKILL) after this long
	Settle     time.Duration // how long the kernel may take to free what it ended; < 0: do not wait, do not count
}

// Result is what happened.
type Result struct {
	Stdout, Stderr string
	Status         int  // exit status, or 128 plus the signal that ended it
	Signaled       bool // ended by a signal it did not catch
	TimedOut       bool
	Interrupted    bool // SIGINT was sent
	Elapsed        time.Duration
	// NetnsLeft is how many network namespaces the program made are
	// still charged Settle after it ended; NetnsGone how long they took
	// to go.
	NetnsLeft int
	NetnsGone time.Duration
	Procs     []string // processes running the program's binary after it ended
	// Reached says whether the program sent or received anything over
	// IP, or tried to, in the run's network namespace, where Shell
	// set its conditions (lo down, sysctls): by the namespace's own
	// counters (/proc/net/snmp). A program that works only in network
	// namespaces of its own is not reached by those conditions.
	Reached bool
	Err     string // the helper's own failure
}

// Helper must be called first thing in main (or in an init function of
// a test): in the process Run starts, it runs the spec and exits.
func Helper() {
	s := os.Getenv(helperEnv)
	if s == "" {
		return
	}
	var spec Spec
	if err := json.Unmarshal([]byte(s), &spec); err != nil {
		fail(err)
	}
	r := helper(spec)
	json.NewEncoder(os.Stdout).Encode(r)
	os.Exit(0)
}

func fail(err error) {
	json.NewEncoder(os.Stdout).Encode(Result{Err: err.Error()})
	os.Exit(0)
}

// Run runs spec in a new user and network namespace. It needs root.
func Run(spec Spec) (Result, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return Result{}, err
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(b))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("nsprobe helper: %v: %s", err, errb.String())
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return Result{}, fmt.Errorf("nsprobe helper: %v: %q %s", err, out.String(), errb.String())
	}
	if r.Err != "" {
		return r, errors.New("nsprobe helper: " + r.Err)
	}
	return r, nil
}

func helper(spec Spec) Result {
	// A new user namespace: only its own network namespace is charged.
	setLimit(limit)
	before := ipActivity()
	var r Result
	cmd := exec.Command("/bin/sh", "-c", spec.Shell+"\nexec \"$0\"", spec.Path)
	pr, pw, err := os.Pipe()
	if err != nil {
		fail(err)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	pw.Close()
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		br := bufio.NewReader(pr)
		for {
			line, err := br.ReadString('\n')
			stdout.WriteString(line)
			if spec.InterruptAtLine != "" && strings.HasPrefix(line, spec.InterruptAtLine) && !r.Interrupted {
				r.Interrupted = true
				cmd.Process.Signal(syscall.SIGINT)
			}
			if spec.StopAtLine != "" && strings.HasPrefix(line, spec.StopAtLine) {
				spec.StopAtLine = ""
				cmd.Process.Signal(syscall.SIGSTOP)
				time.AfterFunc(spec.StopFor, func() { cmd.Process.Signal(syscall.SIGCONT) })
			}
			if err != nil {
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var interrupt, timeout <-chan time.Time
	if spec.InterruptAtLine == "" && spec.InterruptAfter > 0 {
		interrupt = time.After(spec.InterruptAfter)
	}
	timeout = time.After(spec.Timeout)
	var werr error
wait:
	for {
		select {
		case werr = <-done:
			break wait
		case <-interrupt:
			r.Interrupted = true
			cmd.Process.Signal(syscall.SIGINT)
		case <-timeout:
			r.TimedOut = true
			cmd.Process.Kill()
		}
	}
	r.Elapsed = time.Since(start)
	// A child the program left running may hold the pipe open.
	select {
	case <-lines:
	case <-time.After(2 * time.Second):
	}
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	if ee, ok := werr.(*exec.ExitError); ok {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			r.Signaled, r.Status = true, 128+int(ws.Signal())
		} else {
			r.Status = ws.ExitStatus()
		}
	} else if werr != nil {
		fail(werr)
	}
	r.Procs = procsOf(spec.Path)
	r.Reached = ipActivity() != before
	if spec.Settle >= 0 {
		r.NetnsLeft, r.NetnsGone = settle(spec.Settle)
	}
	return r
}

// settle waits up to d for the network namespaces charged besides the
// helper's own to be freed, and returns how many are left and how long
// it waited. Freeing is asynchronous (a workqueue runs cleanup_net
// after the last reference goes), so this asks again until it is done.
//
// To ask without adding to the count, the limit is set to 2 (the
// helper's namespace and one more): making one namespace then
// succeeds only when no other is charged, and a refused one charges
// nothing.
func settle(d time.Duration) (int, time.Duration) {
	start := time.Now()
	setLimit(2)
	defer setLimit(limit)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		if free(1) == 1 {
			return 0, time.Since(start)
		}
		if time.Since(start) > d {
			setLimit(limit)
			return limit - 1 - free(limit), time.Since(start)
		}
		// No event says a namespace was freed: ask again, backing
		// off. The interval changes how long this waits, never what
		// it reports.
		time.Sleep(wait)
	}
}

func setLimit(n int) {
	if err := os.WriteFile("/proc/sys/user/max_net_namespaces", []byte(strconv.Itoa(n)), 0o644); err != nil {
		fail(fmt.Errorf("set user.max_net_namespaces: %v", err))
	}
}

// free makes up to most network namespaces, until the kernel refuses
// one, and returns how many it made. They are freed when its thread
// ends.
func free(most int) int {
	n := make(chan int)
	go func() {
		// Never unlocked: the thread ends with the goroutine, and
		// with it its network namespace.
		runtime.LockOSThread()
		var fds []int
		for len(fds) < most {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				break
			}
			fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				break
			}
			fds = append(fds, fd)
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
		n <- len(fds)
	}()
	return <-n
}

// ipActivity sums the counters of /proc/self/net/snmp that move when a
// program uses IP in this network namespace, or tries to: packets in
// and out, and those with no route (connect to 127.0.0.1 with lo down).
func ipActivity() int64 {
	data, err := os.ReadFile("/proc/self/net/snmp")
	if err != nil {
		fail(err)
	}
	lines := strings.Split(string(data), "\n")
	var sum int64
	for i := 0; i+1 < len(lines); i += 2 {
		keys, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(keys) == 0 || keys[0] != "Ip:" || len(values) != len(keys) {
			continue
		}
		for j, k := range keys {
			switch k {
			case "InReceives", "OutRequests", "OutNoRoutes":
				v, _ := strconv.ParseInt(values[j], 10, 64)
				sum += v
			}
		}
	}
	return sum
}

// procsOf lists the processes running the binary path.
func procsOf(path string) []string {
	var procs []string
	exes, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, exe := range exes {
		if target, err := os.Readlink(exe); err == nil && target == path {
			cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(exe), "cmdline"))
			procs = append(procs, filepath.Dir(exe)+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return procs
}
