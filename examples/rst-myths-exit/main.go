// Rst-myths-exit tests a common belief: "Ctrl+C, return, exit(0) or
// exit(1) before close send a FIN, never an RST". Each case is a
// real process: this program runs itself again as a child, which
// connects and then ends one way or another, and the kernel closes its
// socket. Mostly a FIN, indeed, however the process ends, even by
// SIGKILL. But a process that ends with unread data in its receive
// queue sends an RST, exactly like close() would.
package main

import (
	"net"
	"os"
	"os/exec"

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
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		check(cmd.Start())
		srv := s.Accept(ln, "server")
		s.Name(srv.RemoteAddr(), "child")
		//tcpedges:show
		switch role {
		case "Ctrl+C":
			// What the terminal sends on Ctrl+C. The child blocks
			// in a read; Go's default for SIGINT ends it.
			edge.Println("parent: kill(child, SIGINT)")
			check(cmd.Process.Signal(os.Interrupt))
		case "SIGKILL":
			edge.Println("parent: kill(child, SIGKILL)")
			check(cmd.Process.Kill())
		case "exit(0) with unread data":
			edge.Println(`server: conn.Write("unread")`)
			_, err := srv.Write([]byte("unread"))
			check(err)
		}
		// The kernel closes the child's socket as the process ends
		// (do_exit closes its files), before wait can return. The
		// server acknowledges a FIN at once or with a delayed ACK;
		// wait for it to reach the child's orphan, so that the
		// capture is the same on every run.
		srv.WaitState("CLOSE_WAIT", "CLOSED")
		if srv.State() == "CLOSE_WAIT" {
			srv.WaitRemoteState("FIN_WAIT2")
		}
		err := cmd.Wait()
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

// child connects to addr and ends the way role says.
func child(role, addr string) {
	c, err := net.Dial("tcp4", addr)
	check(err)
	switch role {
	case "return":
		return // from main: the Go runtime calls exit(0)
	case "exit(1)":
		os.Exit(1)
	case "exit(0) with unread data":
		raw, err := c.(*net.TCPConn).SyscallConn()
		check(err)
		check(raw.Control(func(fd uintptr) { edge.WaitFD(int(fd), unix.POLLIN) }))
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

func check(err error) { edge.Check(err, "unexpected error") }
