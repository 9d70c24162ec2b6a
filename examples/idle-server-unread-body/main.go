// Idle-server-unread-body shows what a server that answers without
// reading the request's body does to its answer. It reads the request's
// head only, writes a response larger than the client's receive window,
// and closes: the body still unread in its receive queue makes its
// kernel send an RST instead of a FIN, and throw away the part of the
// response it had not sent yet. The client reads the part that had
// arrived, then ECONNRESET.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

const (
	bodySize     = 1000
	clientRcvbuf = 4096 // SO_RCVBUF: the kernel doubles it for its own overhead
)

// delayedACK is how long the client's kernel waits before it
// acknowledges the segment that fills its receive window: its
// delayed-ACK timer, at TCP_ATO_MIN (include/net/tcp.h).
//
//tcpedges:wait 40ms the client's delayed ACK of the segment that fills its window (TCP_ATO_MIN)
//tcpedges:slow the namespace, capture and connection every example sets up (rst-forged, with no wait, takes 26 to 65 ms on this loaded machine) come on top of the 40 ms delayed ACK; 1.5 times the wait leaves them 20 ms
const delayedACK = 40 * time.Millisecond

// response is the server's answer, larger than the client's window.
var response = "HTTP/1.1 413 Content Too Large\r\nContent-Length: 32768\r\n\r\n" +
	strings.Repeat("r", 32768)

func main() {
	edge.ParseFlags()
	// Once the client's window is full, the server's kernel probes it
	// one RTO later (the persist timer, tcp_probe0_base): 200 ms on
	// loopback, less than a program starved of CPU may take to look
	// and close. A minimum RTO of 10 s (a per-namespace sysctl since
	// Linux 6.11; the example's namespace is its own) keeps the probe
	// out of the story.
	const rtoMin = "/proc/sys/net/ipv4/tcp_rto_min_us"
	if _, err := os.Stat(rtoMin); err != nil {
		edge.Fatalf("this kernel has no net.ipv4.tcp_rto_min_us (it came in Linux 6.11): without it the server's window probe, 200 ms after the window closes, may come into the story")
	}
	check(os.WriteFile(rtoMin, []byte("10000000"), 0o644))
	s := edge.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()

	edge.Println("client: connect() with a small receive buffer, server: accept()")
	client := dialSmall(s, ln.Addr())
	defer client.Close()
	server := s.Accept(ln, "server")
	defer server.Close()
	s.PrintSegments()

	head := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: server\r\nContent-Length: %d\r\n\r\n", bodySize)
	//tcpedges:show
	edge.Printf("client: write(head + %d-byte body)\n", bodySize)
	_, err := unix.Write(client.FD, []byte(head+strings.Repeat("b", bodySize)))
	check(err)
	edge.WaitAcked(client.FD)

	// The server reads the head and not one byte more.
	buf := make([]byte, len(head))
	n, err := unix.Read(server.FD, buf)
	check(err)
	unread, err := unix.IoctlGetInt(server.FD, unix.SIOCINQ)
	check(err)
	edge.Printf("server: read(head) = %d, %d bytes of body left unread\n", n, unread)

	// A response larger than the client's receive window: the kernel
	// sends what the window allows and keeps the rest in the send
	// queue, waiting for the client to read.
	edge.Printf("server: write(%d-byte response)\n", len(response))
	n, err = unix.Write(server.FD, []byte(response))
	check(err)
	edge.WaitInfo(server.FD, edge.Timeout, "the response sent up to the client's window",
		func(i *unix.TCPInfo) bool { return i.Unacked == 0 && i.Snd_wnd == 0 })
	s.PrintDelayed(delayedACK)
	unsent, err := unix.IoctlGetInt(server.FD, unix.SIOCOUTQNSD)
	check(err)
	edge.Printf("server: write() = %d, %d bytes of it not sent yet (the window is full)\n", n, unsent)

	// __tcp_close: unread data in the receive queue, so an RST
	// (tcp_send_active_reset) rather than a FIN; the socket is freed
	// with its send queue.
	edge.Println("server: close()")
	server.Close()
	client.WaitState("CLOSED")
	s.PrintSegments()

	// The client's kernel keeps what it received before the RST
	// (tcp_reset purges the write queue only): read returns it first.
	total := 0
	for {
		n, err := unix.Read(client.FD, make([]byte, len(response)))
		if n > 0 {
			total += n
			continue
		}
		edge.Printf("client: read %d bytes of the %d-byte response, then read() = %s\n",
			total, len(response), edge.Ret(n, err))
		if err != syscall.ECONNRESET {
			edge.Fatalf("the client's read ended with %s, not ECONNRESET: another story", edge.Ret(n, err))
		}
		break
	}
	//tcpedges:end
}

// dialSmall connects as "client" with SO_RCVBUF set before connect, so
// that the window it offers in its SYN is already the small one.
func dialSmall(s *edge.Scene, addr net.Addr) *edge.End {
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, clientRcvbuf)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.DialContext(context.Background(), "tcp4", addr.String())
	check(err)
	return s.End("client", c.(*net.TCPConn))
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
