package tcpedges_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// refuseEnv makes the test binary, started again by the tests below, a
// user without user namespaces, who then runs the command it names (a
// path, and arguments after tabs): see refuseUserNamespaces.
const refuseEnv = "TCPEDGES_TEST_REFUSE"

// refused runs argv as a user to whom the kernel refuses user
// namespaces: in a user namespace of its own, whose
// user.max_user_namespaces is 0, without capabilities.
func refused(argv ...string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), refuseEnv+"="+strings.Join(argv, "\t"))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	return cmd
}

// Where the kernel refuses a user namespace, an example says so in one
// sentence naming the setting and the two ways out, exits with status
// 1 and prints nothing else. The refusal is real: the example runs in
// a user namespace whose user.max_user_namespaces is 0, as a process
// without capabilities, as a user is.
func TestRefusedUserNamespace(t *testing.T) {
	usesExamples(t)
	for _, name := range []string{"read-after-close", "host-reboot"} {
		cmd := refused(filepath.Join(binDir, name))
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		want := name + ": a user needs a user namespace of their own to run this example, and the kernel refused one (ENOSPC): " +
			"the setting user.max_user_namespaces=0 forbids it; run it with sudo, or change that setting\n"
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || stdout.Len() > 0 || stderr.String() != want {
			t.Errorf("%s: %v, stdout %q, stderr %q; want status 1 and %q", name, err, stdout.String(), stderr.String(), want)
		}
	}
}

// Where the kernel refuses user namespaces, the suite fails, in one line
// that says how many scripts could not run and why: it never passes
// without having run them.
func TestRefusedSuiteSaysWhy(t *testing.T) {
	usesExamples(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := refused(self, "-test.run=^TestScripts$").CombinedOutput()
	scripts, _ := filepath.Glob("testdata/*.txtar")
	want := fmt.Sprintf("none of the %d scripts can run here: read-after-close: a user needs a user namespace of their own to run this example, "+
		"and the kernel refused one (ENOSPC): the setting user.max_user_namespaces=0 forbids it; run it with sudo, or change that setting\n", len(scripts))
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), want) {
		t.Errorf("the suite where user namespaces are refused: %v, output:\n%s\nwant status 1 and a line ending %q", err, out, want)
	}
}

// refuseUserNamespaces, in a user namespace of its own, forbids new
// user namespaces in it, gives up every capability for good, and runs
// the command: it is then a user whom the kernel refuses a user
// namespace.
func refuseUserNamespaces(command string) {
	argv := strings.Split(command, "\t")
	check := func(err error, what string) {
		if err != nil {
			os.Stderr.WriteString("refuse user namespaces: " + what + ": " + err.Error() + "\n")
			os.Exit(3)
		}
	}
	check(os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0), "set user.max_user_namespaces")
	// Without SECBIT_NOROOT, uid 0 would get every capability back
	// at execve (SECBIT_NOROOT and its lock, linux/securebits.h).
	const noRoot, noRootLocked = 1 << 0, 1 << 1
	check(unix.Prctl(unix.PR_SET_SECUREBITS, noRoot|noRootLocked, 0, 0, 0), "securebits")
	var none [2]unix.CapUserData
	check(unix.Capset(&unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}, &none[0]), "drop capabilities")
	env := slices.DeleteFunc(os.Environ(), func(v string) bool { return strings.HasPrefix(v, refuseEnv+"=") })
	path := argv[0]
	argv[0] = filepath.Base(path)
	check(unix.Exec(path, argv, env), "exec "+path)
}
