// Idle-http-unread-body shows what Go's net/http server does with a
// request body its handler does not read. A body of less than 256 KiB
// it reads and throws away itself, and keeps the connection. A larger
// one it leaves: it answers with "Connection: close", sends a FIN
// (shutdown(SHUT_WR)), waits 0.5 s, and closes, which sends an RST
// since body bytes are still unread. A client that reads its answer
// in those 0.5 s has it all; a client still sending its body after
// them gets "broken pipe".
package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

// rstAvoidanceDelay is how long net/http's server waits between its
// FIN and close(): a variable of net/http (server.go, Go 1.26) that a
// program cannot set.
//
//tcpedges:wait 500ms net/http's rstAvoidanceDelay, between the server's FIN and its close
const rstAvoidanceDelay = 500 * time.Millisecond

// delayedACK is how long the client's kernel delays its ACK of a FIN
// that follows data: tcp_fin switches the socket to delayed ACKs, with
// the delay at TCP_ATO_MIN (include/net/tcp.h).
const delayedACK = 40 * time.Millisecond

// reject answers every request with 403, without reading its body.
func reject(w http.ResponseWriter, r *http.Request) {
	w.Header()["Date"] = nil // no Date header: the same output on every run
	http.Error(w, "uploads are closed", http.StatusForbidden)
}

func main() {
	edge.ParseFlags()
	s := edge.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	accepted := make(chan net.Conn, 2)
	srv := &http.Server{
		Handler: http.HandlerFunc(reject),
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateNew {
				accepted <- c.(atClose).TCPConn
			}
		},
	}
	go srv.Serve(onlyListener{ln})

	edge.Println("# a 1000-byte body the handler does not read")
	c := s.Dial("client", ln.Addr())
	defer c.Close()
	server := s.End("server", (<-accepted).(*net.TCPConn))
	s.PrintSegments()
	//tcpedges:show
	send(c, 1000, 1000)
	// net/http reads the unread body (up to 256 KiB) before it writes
	// its answer's header: a next request can follow on this connection.
	edge.WaitFD(c.FD, unix.POLLIN)
	readAnswer(c)
	unread, err := unix.IoctlGetInt(server.FD, unix.SIOCINQ)
	check(err)
	edge.Printf("server: %d bytes unread; client %s, server %s\n", unread, c.State(), server.State())
	//tcpedges:end

	edge.Println("# a 1 MiB body announced, 8000 bytes of it sent, unread")
	c = s.Dial("client", ln.Addr())
	defer c.Close()
	server = s.End("server", (<-accepted).(*net.TCPConn))
	s.PrintSegments()
	// What the sockets are as net/http closes the server's end, looked
	// at then, in its goroutine: the program's own reads may come later.
	looked := make(chan string, 1)
	watch.Store(&watched{c, server, looked})
	//tcpedges:show
	send(c, 1<<20, 8000)
	// More than 256 KiB unread: net/http answers with "Connection:
	// close", then closeWriteAndWait: shutdown(SHUT_WR), a FIN, and a
	// 0.5 s sleep before close().
	// With bytes unread, close() sends an RST (__tcp_close),
	// rstAvoidanceDelay after the FIN. The program prints once it has
	// come, with the pauses of that schedule: they do not depend on
	// when it gets to look.
	c.WaitState("CLOSED")
	s.PrintPaused(paced, delayedACK, rstAvoidanceDelay-delayedACK)
	edge.Println(<-looked)
	// The client's kernel keeps what it received before the RST
	// (tcp_reset purges the write queue only), and the FIN came first:
	// read returns the answer, then 0.
	readAnswer(c)
	n, err := unix.Read(c.FD, make([]byte, 64))
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	edge.Println("client: write(8000 more bytes of the body)")
	n, err = unix.Write(c.FD, make([]byte, 8000))
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	//tcpedges:end
	if err != syscall.EPIPE {
		edge.Fatalf("the client's write after the RST returned %s, not EPIPE: another story", edge.Ret(n, err))
	}
}

// send writes a request's head, announcing a body of announced bytes,
// and the first sent bytes of that body, in one write.
func send(c *edge.End, announced, sent int) {
	head := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: server\r\nContent-Length: %d\r\n\r\n", announced)
	edge.Printf("client: write(head + %d bytes of a %d-byte body)\n", sent, announced)
	_, err := unix.Write(c.FD, append([]byte(head), bytes.Repeat([]byte("b"), sent)...))
	check(err)
}

// readAnswer reads the server's answer, which comes in one segment, and
// prints its status line and its Connection header.
func readAnswer(c *edge.End) {
	buf := make([]byte, 4096)
	n, err := unix.Read(c.FD, buf)
	check(err)
	conn := "none"
	lines := strings.Split(string(buf[:n]), "\r\n")
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "Connection: "); ok {
			conn = fmt.Sprintf("%q", v)
		}
	}
	edge.Printf("client: read() = %d: %q, Connection header %s\n", n, lines[0], conn)
}

// paced says whether seg came after a pause: the client's delayed ACK
// of the FIN, and the RST.
func paced(seg string) bool {
	return strings.HasPrefix(seg, "client > server: Flags [.], ack 160,") ||
		strings.HasPrefix(seg, "server > client: Flags [R.]")
}

// watched is a connection whose server's end the program looks at as
// net/http closes it, and where it sends what it saw.
type watched struct {
	client, server *edge.End
	looked         chan<- string
}

var watch atomic.Pointer[watched]

// atClose is a connection the server accepted: before net/http closes
// it, it looks at the sockets if it is the watched one.
type atClose struct{ *net.TCPConn }

func (c atClose) Close() error {
	if w := watch.Load(); w != nil && w.server.TCPConn == c.TCPConn {
		// Its bufio.Reader took 4096 bytes off the socket; the rest of
		// what the client sent is still in the kernel's receive queue.
		unread, err := unix.IoctlGetInt(w.server.FD, unix.SIOCINQ)
		check(err)
		w.looked <- fmt.Sprintf("server, as net/http closes its end: %d bytes unread; client %s, server %s",
			unread, w.client.State(), w.server.State())
	}
	return c.TCPConn.Close()
}

// onlyListener ends the program when accept fails: net/http's Serve
// would log the error and try again, forever (EMFILE, say).
type onlyListener struct{ *net.TCPListener }

func (l onlyListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.Accept()
	edge.Check(err, "server: accept")
	return atClose{c.(*net.TCPConn)}, nil
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
