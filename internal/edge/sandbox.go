package edge

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// sandboxEnv marks a program that runs in its own network namespace
// already: the re-executed copy, and every process it starts.
const sandboxEnv = "TCPEDGES_SANDBOX"

// parentReports is set in the copy: the process that started it says
// "interrupted by ..." when the copy ends because of a signal.
var parentReports bool

// enterSandbox runs the program again in a network namespace of its
// own, with only lo, and ends with that copy's status. The copy
// returns from it, with lo up.
//
// Every example runs there, as root and as a user alike: its sockets,
// counters and sysctls start from the kernel's defaults, whatever the
// machine's own network namespace has (a firewall, a tuned sysctl,
// busy ports), and the program may capture packets and change sysctls
// without touching the machine.
//
// A user may not make a network namespace, but may make a user
// namespace (clone with CLONE_NEWUSER), in which they are root
// (uid_map maps 0 to them) with every capability over the network
// namespace made with it: packet sockets, sysctls, veth pairs, nested
// namespaces, TCP_REPAIR. Root needs no user namespace.
//
// A process that has started threads cannot enter a new user namespace
// (unshare(2) says EINVAL), and a Go program always has: hence a new
// process, not unshare.
func enterSandbox() {
	switch os.Getenv(sandboxEnv) {
	case "new":
		// The copy, in its new namespace: lo is down there.
		loUp()
		os.Setenv(sandboxEnv, "1")
		parentReports = true
		return
	case "1":
		// Started by a program in its own namespace already (a child
		// an example runs), or told by a test that its namespace is
		// the one to use, as it is.
		return
	}
	self, err := os.Executable()
	Check(err, "find the program's own file")
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), sandboxEnv+"=new")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	attr := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET,
		// The copy dies with us, whatever kills us. The signal is tied
		// to the thread that starts it, so that thread stays ours.
		Pdeathsig: syscall.SIGKILL,
	}
	if !canAdminNetwork() {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	}
	cmd.SysProcAttr = attr

	// Signals meant for us are the copy's: Ctrl-C reaches both (they
	// share the terminal's process group), kill(1) only us.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	runtime.LockOSThread()
	if err := cmd.Start(); err != nil {
		if attr.Cloneflags&syscall.CLONE_NEWUSER != 0 {
			refused(err)
		}
		Fatalf("creating a network namespace of its own: %v", err)
	}
	var interrupted atomic.Value // the last signal passed on
	go func() {
		for s := range sigs {
			interrupted.Store(s)
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		Fatalf("running in a network namespace of its own: %v", err)
	case !ws.Signaled() && interrupted.Load() != nil && ws.ExitStatus() == 128+int(interrupted.Load().(syscall.Signal)):
		// The copy cleaned up after the signal and ended with the
		// shell's status for it. Saying so here, not in the copy,
		// keeps the line and the status together: the copy's main
		// may return, status 0, while its clean-ups run, and then
		// nothing was interrupted.
		fmt.Fprintf(os.Stderr, "%s: interrupted by %v\n", Name(), interrupted.Load())
	case ws.Signaled():
		// Die the same way, so that our parent sees what happened. The
		// signal comes asynchronously: wait for it, not exit first. A
		// signal the runtime does not die of (or one ignored since we
		// started) ends us with the shell's status for it instead.
		signal.Reset(ws.Signal())
		unix.Kill(os.Getpid(), ws.Signal())
		<-time.After(time.Second)
		os.Exit(128 + int(ws.Signal()))
	}
	os.Exit(ws.ExitStatus())
}

// canAdminNetwork reports whether the process may make a network
// namespace by itself: whether it has CAP_SYS_ADMIN, as root does.
func canAdminNetwork() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[unix.CAP_SYS_ADMIN/32].Effective&(1<<(unix.CAP_SYS_ADMIN%32)) != 0
}

// refused ends the program when the kernel would not give it a user
// namespace, naming the setting that refused and the two ways out.
func refused(err error) {
	var errno syscall.Errno
	errors.As(err, &errno)
	cause := "a security policy (a container's seccomp profile, or an LSM) forbids it"
	fix := "run it outside that policy"
	if errno == unix.ENOSPC {
		cause, fix = "the limit user.max_user_namespaces is reached", "raise that limit"
	}
	for _, s := range []struct{ file, bad, setting string }{
		{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1", "kernel.apparmor_restrict_unprivileged_userns"},
		{"/proc/sys/kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone"},
		{"/proc/sys/user/max_user_namespaces", "0", "user.max_user_namespaces"},
	} {
		if b, _ := os.ReadFile(s.file); strings.TrimSpace(string(b)) == s.bad {
			cause = "the setting " + s.setting + "=" + s.bad + " forbids it"
			fix = "change that setting"
			break
		}
	}
	Fatalf("a user needs a user namespace of their own to run this example, and the kernel refused one (%s): %s; run it with sudo, or %s",
		unix.ErrnoName(errno), cause, fix)
}

// loUp brings up lo, which a new network namespace has down.
func loUp() {
	lo, err := netlink.LinkByName("lo")
	Check(err, "find lo in the program's network namespace")
	Check(netlink.LinkSetUp(lo), "set lo up in the program's network namespace")
}
