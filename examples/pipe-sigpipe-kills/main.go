// Pipe-sigpipe-kills shows SIGPIPE as a process sees it. It resets a
// connection, then starts children whose standard output is that
// socket: a C program (echo) and this program again, run as a child
// that writes in one of several ways. Writing to fd 1 kills a Go
// program too; ignoring SIGPIPE, signal.Notify, MSG_NOSIGNAL or any
// other descriptor leave only the EPIPE error.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

// The child's way of writing, passed in the environment.
const childEnv = "PIPE_SIGPIPE_CHILD"

func main() {
	if how := os.Getenv(childEnv); how != "" {
		child(how)
		return
	}
	edge.ParseFlags()

	// The classic sequence: the server closes, the client writes, the
	// server's kernel answers with an RST. Every write from now on
	// fails with EPIPE (see pipe-write-after-peer-close).
	edge.Println("client: connect(), server: accept()")
	p := edge.NewPair()
	defer p.Close()
	edge.Println("server: close()")
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	edge.Println(`client: write("hello")`)
	_, err := unix.Write(p.Client.FD, []byte("hello"))
	check(err)
	edge.WaitFD(p.Client.FD, unix.POLLERR)
	edge.Println("client: the connection is reset; its socket becomes the children's stdout")

	// A copy of the client's descriptor, to hand to the children.
	sock, err := p.Client.File()
	check(err)
	defer sock.Close()

	echo, err := exec.LookPath("echo")
	if err != nil {
		edge.Fatalf("this example runs echo (coreutils) as its C program: %v", err)
	}
	self, err := os.Executable()
	check(err)

	//tcpedges:show
	// A C program keeps SIGPIPE's default action: the kernel's signal
	// kills it inside write(2).
	run(sock, "echo hello", "", echo, "hello")
	// Go's runtime catches SIGPIPE. For a write to fd 1 or 2 that
	// fails with EPIPE, package os then kills the program with it
	// (os.epipecheck, runtime.sigpipe), as a C program would die.
	run(sock, "child: os.Stdout.Write", "stdout", self)
	// The same write(2) on fd 1, made without package os: the kernel
	// raises SIGPIPE, the runtime's handler drops it.
	run(sock, "child: unix.Write(1)", "raw", self)
	// The same socket as fd 3: only the error.
	run(sock, "child: os.File.Write on fd 3", "fd3", self)
	run(sock, "child: signal.Ignore(SIGPIPE), os.Stdout.Write", "ignore", self)
	run(sock, "child: signal.Notify(c, SIGPIPE), os.Stdout.Write", "notify", self)
	run(sock, "child: send(1, MSG_NOSIGNAL)", "nosignal", self)

	// An ignored signal stays ignored across execve(2): a program
	// that ignores SIGPIPE passes that on to every program it starts.
	edge.Println("parent: signal.Ignore(SIGPIPE)")
	signal.Ignore(syscall.SIGPIPE)
	run(sock, "echo hello", "", echo, "hello")
	//tcpedges:end
}

// run starts a program with the socket as its stdout (and as fd 3),
// and prints what it said on stderr and how it ended. A non-empty how
// makes it this program's child, writing that way.
func run(sock *os.File, title, how string, argv ...string) {
	edge.Println("# " + title)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Args[0] = filepath.Base(argv[0])
	cmd.Env = append(os.Environ(), "LC_ALL=C", childEnv+"="+how)
	var stderr bytes.Buffer
	cmd.Stdout = sock
	cmd.ExtraFiles = []*os.File{sock}
	cmd.Stderr = &stderr
	err := cmd.Run()
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if line != "" {
			edge.Println("  " + line)
		}
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		edge.Fatalf("running %s: %v", title, err)
	}
	// What Go's os/exec reports ("signal: broken pipe"), and the wait
	// status underneath it.
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled():
		edge.Printf("  parent: cmd.Run() = %q, killed by %s\n",
			err.Error(), unix.SignalName(ws.Signal()))
	case err != nil:
		edge.Printf("  parent: cmd.Run() = %q\n", err.Error())
	default:
		edge.Println("  parent: cmd.Run() = <nil>, exit status 0")
	}
}

// child writes to the reset socket in the way how, and reports on
// stderr, its stdout being the socket.
func child(how string) {
	say := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "child: "+format+"\n", args...)
	}
	hello := []byte("hello")
	var n int
	var err error
	switch how {
	case "stdout":
		say(`os.Stdout.Write("hello") ...`)
		n, err = os.Stdout.Write(hello)
	case "raw":
		n, err = unix.Write(1, hello)
		say("write(1) = %s, and still running", edge.Ret(n, err))
		return
	case "fd3":
		n, err = os.NewFile(3, "socket").Write(hello)
	case "ignore":
		signal.Ignore(syscall.SIGPIPE)
		n, err = os.Stdout.Write(hello)
	case "notify":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGPIPE)
		n, err = os.Stdout.Write(hello)
		say("write = %d, err %s", n, edge.Describe(err))
		// The runtime delivers the signal to c instead of dying.
		select {
		case s := <-c:
			say("received %v on the channel", s)
		case <-time.After(edge.Timeout):
			say("no signal on the channel")
		}
		return
	case "nosignal":
		sig := edge.SignalsDuring(func() {
			n, err = unix.SendmsgN(1, hello, nil, nil, unix.MSG_NOSIGNAL)
		})
		say("write = %s, signal raised: %s", edge.Ret(n, err), edge.SignalName(sig))
		return
	}
	say("write = %d, err %s", n, edge.Describe(err))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
