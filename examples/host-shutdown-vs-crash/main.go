// Host-shutdown-vs-crash measures a common belief: that a crashing
// host closes its sockets and sends FIN. An orderly shutdown does:
// its processes are killed, the kernel closes what they held, and
// each connection sends FIN, so the client reads 0 at once. A crash
// sends nothing at all: the client's read just waits.
package main

import (
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	lab := edge.NewLab()
	// Last, on the way out: the hosts go, and every socket left in them.
	defer lab.Close()
	s := lab.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()
	client := s.Dial("client", ln.Addr())
	server := s.Accept(ln, "server")
	ln2 := s.Listen("server2")
	defer ln2.Close()
	client2 := s.Dial("client2", ln2.Addr())
	s.Accept(ln2, "server2")
	edge.Println("connected twice")
	s.PrintSegments()

	//tcpedges:show
	// Shutting down sends SIGTERM, then SIGKILL, to every process;
	// either way the kernel closes their descriptors as close(2) does.
	edge.Println("shutdown: the server process is killed (SIGKILL)")
	edge.KillHolder(server)
	events := edge.WaitFD(client.FD, unix.POLLIN|unix.POLLRDHUP)
	// The client's ACK of the FIN moves the server's socket, which
	// no process holds now, to FIN_WAIT2. Wait for it, so that it is
	// printed before what follows, however fast poll returned.
	server.WaitState("FIN_WAIT2")
	edge.Printf("client: poll: %s\n", events)
	n, err := unix.Read(client.FD, make([]byte, 64))
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	s.PrintSegments()

	edge.Println("crash: the server host stops")
	lab.Crash()
	edge.Printf("client2: poll: %s\n", edge.Events(client2.FD))
	n, err = unix.Read(client2.FD, make([]byte, 64))
	edge.Printf("client2: read() = %s\n", edge.Ret(n, err))
	//tcpedges:end
	s.PrintSegments()
	edge.Printf("  states: client %s, client2 %s\n", client.State(), client2.State())
}
