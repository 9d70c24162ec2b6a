// Rst-myths-exit tests a common belief: "Ctrl+C, return, exit(0) or
// exit(1) before close send a FIN, never an RST". Each case is a
// real process: this program runs itself again as a child, which
// connects and then ends one way or another, and the kernel closes its
// socket. Mostly a FIN, indeed, however the process ends, even by
// SIGKILL. But a process that ends with unread data in its receive
// queue sends an RST, exactly like close() would.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

// roleEnv tells a child which way to end, and where to connect.
const roleEnv, addrEnv = "RST_MYTHS_EXIT_ROLE", "RST_MYTHS_EXIT_ADDR"

func main() {
	edge.ParseFlags()
	if role := os.Getenv(roleEnv); role != "" {
		child(role, os.Getenv(addrEnv))
		return
	}

	s := edge.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()
	for _, role := range []string{"return", "exit(1)", "Ctrl+C", "SIGKILL", "exit(0) with unread data"} {
		edge.Printf("== the child: %s\n", role)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), roleEnv+"="+role, addrEnv+"="+ln.Addr().String())
		var childErr strings.Builder
		cmd.Stdout, cmd.Stderr = &childErr, &childErr
		edge.Check(cmd.Start(), "start the child")
		ended := make(chan error, 1)
		go func() { ended <- cmd.Wait() }()
		srv := accept(s, ln, cmd, ended, &childErr)
		s.NameConn(srv.RemoteAddr(), srv.LocalAddr(), "child")
		//tcpedges:show
		switch role {
		case "Ctrl+C":
			// What the terminal sends on Ctrl+C. The child blocks
			// in a read; Go's default for SIGINT ends it.
			edge.Println("parent: kill(child, SIGINT)")
			edge.Check(cmd.Process.Signal(os.Interrupt), "send SIGINT to the child")
		case "SIGKILL":
			edge.Println("parent: kill(child, SIGKILL)")
			edge.Check(cmd.Process.Kill(), "kill the child")
		case "exit(0) with unread data":
			edge.Println(`server: conn.Write("unread")`)
			_, err := srv.Write([]byte("unread"))
			edge.Check(err, "server: write")
		}
		var err error
		select {
		case err = <-ended:
		case <-time.After(edge.Timeout):
			cmd.Process.Kill()
			edge.Fatalf("the child (%s) did not end within %v", role, edge.Timeout)
		}
		if want := wantStatus[role]; status(err) != want {
			edge.Fatalf("the child (%s) ended with %s, not %s: %s", role, status(err), want, strings.TrimSpace(childErr.String()))
		}
		// The kernel closed the child's socket as the process ended
		// (do_exit closes its files), before wait could return. The
		// server acknowledges a FIN at once or with a delayed ACK;
		// wait for it to reach the child's orphan, so that the
		// capture is the same on every run.
		srv.WaitState("CLOSE_WAIT", "CLOSED")
		if srv.State() == "CLOSE_WAIT" {
			srv.WaitRemoteState("FIN_WAIT2")
		}
		edge.Printf("child: ended, %s\n", status(err))
		n, err := srv.Read(make([]byte, 64))
		edge.Printf("server: %s; conn.Read = %d, err %s\n", srv.State(), n, s.Describe(err))
		//tcpedges:end
		edge.Println("server: close()")
		srv.Close()
		srv.WaitState("CLOSED")
		s.PrintSegments()
	}
}

// wantStatus is how each child must end for its case to be the one
// shown.
var wantStatus = map[string]string{
	"return":                   "exit status 0",
	"exit(1)":                  "exit status 1",
	"Ctrl+C":                   "signal: interrupt",
	"SIGKILL":                  "signal: killed",
	"exit(0) with unread data": "exit status 0",
}

// accept waits for the child's connection, or for the child to end
// without one (it could not connect), for at most edge.Timeout: poll(2)
// on the listener and on a pidfd of the child, which is readable once
// the child has ended. A child that connected did so before it ended,
// and its connection is queued by then: the listener is asked first.
func accept(s *edge.Scene, ln *net.TCPListener, cmd *exec.Cmd, ended chan error, childErr fmt.Stringer) *edge.End {
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	edge.Check(err, "pidfd_open the child")
	defer unix.Close(pidfd)
	raw, err := ln.SyscallConn()
	edge.Check(err, "listener descriptor")
	var lfd int
	edge.Check(raw.Control(func(fd uintptr) { lfd = int(fd) }), "listener descriptor")
	fds := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(edge.Timeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		edge.Check(err, "poll the listener and the child")
		switch {
		case n == 0:
			cmd.Process.Kill()
			edge.Fatalf("the child did not connect within %v", edge.Timeout)
		case fds[0].Revents&unix.POLLIN != 0:
			c, err := ln.AcceptTCP()
			edge.Check(err, "server: accept")
			return s.End("server", c)
		default:
			edge.Fatalf("the child ended (%s) before it connected: %s", status(<-ended), strings.TrimSpace(childErr.String()))
		}
	}
}

// child connects to addr and ends the way role says.
func child(role, addr string) {
	if role == "Ctrl+C" {
		// A process started with SIGINT ignored (a background job of a
		// shell script, say) passes that on to its children; this one
		// must die of it, as from a terminal.
		edge.Check(edge.DefaultAction(unix.SIGINT), "restore the default action of SIGINT")
	}
	c, err := net.Dial("tcp4", addr)
	edge.Check(err, "connect")
	switch role {
	case "return":
		return // from main: the Go runtime calls exit(0)
	case "exit(1)":
		os.Exit(1)
	case "exit(0) with unread data":
		raw, err := c.(*net.TCPConn).SyscallConn()
		edge.Check(err, "child: descriptor")
		edge.Check(raw.Control(func(fd uintptr) { edge.WaitFD(int(fd), unix.POLLIN) }), "child: wait for data")
		os.Exit(0)
	}
	// Ctrl+C, SIGKILL: wait for the signal, in a read that never
	// returns.
	c.Read(make([]byte, 1))
	edge.Fatalf("the child's read returned")
}

// status says how a child ended, as the shell would.
func status(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
