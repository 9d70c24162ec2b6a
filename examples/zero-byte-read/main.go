// Zero-byte-read proves that a zero-byte read tells you nothing about
// a FIN. Go's conn.Read with an empty buffer returns 0, nil without
// asking the kernel, before and after the FIN alike, and read(2) with
// length 0 returns 0 whether or not a FIN has arrived. To learn that
// the peer has closed without consuming data, ask poll(2) for
// POLLRDHUP, or peek one byte with MSG_PEEK.
package main

import (
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	edge.Println("client: connect(), server: accept()")
	p := edge.NewPair()
	defer p.Close()
	p.PrintSegments()
	probe(p, "before the FIN")

	edge.Println("server: close()")
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()
	probe(p, "after the FIN")

	n, err := p.Client.Read(make([]byte, 64))
	edge.Printf("client: conn.Read(buf[:64]) = %d, err %s\n", n, p.Describe(err))
}

// probe asks, on the client, every question that might reveal a FIN.
func probe(p *edge.Pair, when string) {
	edge.Println("client, " + when + ":")
	buf := make([]byte, 1)

	//tcpedges:show
	n, err := p.Client.Read(buf[:0])
	edge.Printf("  conn.Read(buf[:0]) = %d, err %s\n", n, p.Describe(err))

	n, err = unix.Read(p.Client.FD, buf[:0])
	edge.Printf("  read(fd, buf, 0) = %s\n", edge.Ret(n, err))

	n, _, err = unix.Recvfrom(p.Client.FD, buf, unix.MSG_PEEK|unix.MSG_DONTWAIT)
	edge.Printf("  recv(fd, buf, 1, MSG_PEEK) = %s\n", edge.Ret(n, err))
	//tcpedges:end

	edge.Printf("  poll() reports %s\n", edge.Events(p.Client.FD))
}
