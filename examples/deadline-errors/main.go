// Deadline-errors proves which error each of Go's timeouts returns,
// and what errors.Is says of it: a connection's read deadline, a dial's
// timeout and its context's deadline, http.Client.Timeout and a
// request's context. A read deadline that passes sends nothing and
// leaves the connection as it was: a read after it, deadline cleared,
// gets the data the peer sent since.
package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 25ms five timeouts of 5 ms each: a read deadline, two dials, two HTTP requests
//tcpedges:slow starting the program and its capture, two listeners and an HTTP server add about 35 ms to the 25 ms of timeouts

const timeout = 5 * time.Millisecond

var roles *strings.Replacer

func main() {
	edge.ParseFlags()
	s := edge.NewScene()
	defer s.Close()
	ln := s.Listen("server")
	defer ln.Close()

	// A listener with room for one connection, which one takes: the
	// next SYN is dropped, and a dial to it waits.
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	check(err)
	defer unix.Close(lfd)
	check(unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	check(unix.Listen(lfd, 0))
	full := edge.FDAddr(lfd)
	filler, err := net.Dial("tcp", full.String())
	check(err)
	defer filler.Close()
	edge.WaitFD(lfd, unix.POLLIN)

	edge.Println("# a read deadline")
	edge.Println("client: connect(), server: accept()")
	c := s.Dial("client", ln.Addr())
	defer c.Close()
	srv := s.Accept(ln, "server")
	defer srv.Close()
	roles = strings.NewReplacer(c.LocalAddr().String(), "client",
		ln.Addr().String(), "server", full.String(), "server2")
	s.PrintSegments()

	//tcpedges:show
	// The server sends nothing until the read has returned.
	edge.Printf("client: SetReadDeadline(now + %v), conn.Read\n", timeout)
	check(c.SetReadDeadline(time.Now().Add(timeout)))
	_, err = c.Read(make([]byte, 64))
	s.PrintSegments()
	show(err)
	edge.Printf("  states: client %s, server %s\n", c.State(), srv.State())

	// The deadline was Go's alone: the connection is as it was.
	edge.Println(`server: conn.Write("hello")`)
	_, err = srv.Write([]byte("hello"))
	check(err)
	edge.WaitAcked(srv.FD)
	edge.Println("client: SetReadDeadline(time.Time{}), conn.Read")
	check(c.SetReadDeadline(time.Time{}))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	check(err)
	edge.Printf("client: conn.Read = %d, %q\n", n, buf[:n])
	//tcpedges:end

	edge.Println("# a dial: server2's accept queue is full, its SYN dropped")
	//tcpedges:show
	edge.Printf("net.Dialer{Timeout: %v}.Dial\n", timeout)
	_, err = (&net.Dialer{Timeout: timeout}).Dial("tcp", full.String())
	showDial(err)

	edge.Printf("net.Dialer.DialContext, context.WithTimeout(%v)\n", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	_, err = (&net.Dialer{}).DialContext(ctx, "tcp", full.String())
	cancel()
	showDial(err)
	//tcpedges:end

	edge.Println("# HTTP: the server answers the first request, not the second")
	// The timed requests go on a connection the Transport already has:
	// their time is spent awaiting the answer, not dialing.
	hln := s.Listen("server")
	release := make(chan struct{})
	defer close(release)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
	})}
	go hs.Serve(listener{hln})
	defer hs.Close()
	roles = strings.NewReplacer(hln.Addr().String(), "server")
	url := "http://" + hln.Addr().String()
	tr := &http.Transport{}
	warm := func() {
		resp, err := (&http.Client{Transport: tr}).Get(url + "/fast")
		check(err)
		check(resp.Body.Close())
	}
	//tcpedges:show
	warm()
	edge.Printf("http.Client{Timeout: %v}.Get\n", timeout)
	_, err = (&http.Client{Transport: tr, Timeout: timeout}).Get(url + "/slow")
	show(err)

	warm()
	edge.Printf("http.Client{}.Do, request context.WithTimeout(%v)\n", timeout)
	ctx, cancel = context.WithTimeout(context.Background(), timeout)
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/slow", nil)
	check(err)
	_, err = (&http.Client{Transport: tr}).Do(req)
	cancel()
	show(err)
	//tcpedges:end
}

// isTimeout reports whether err is a timeout, as net.Error's Timeout
// says, and ends the program if not: another error (too many open
// files, say) would tell another story.
func isTimeout(err error) bool {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		edge.Fatalf("expected a timeout, got %v", err)
	}
	return true
}

// show prints err as a log shows it, with roles for the addresses, and
// what the usual tests say of it.
func show(err error) {
	timeout := isTimeout(err)
	edge.Printf("  err: %s\n", roles.Replace(err.Error()))
	edge.Printf("  errors.Is os.ErrDeadlineExceeded %v, context.DeadlineExceeded %v; net.Error Timeout() %v\n",
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded), timeout)
}

// showDial prints a dial's timeout. Which sentinel it is depends on
// which of two timers set for the same instant Go's connect sees first
// (net/fd_unix.go, netFD.connect): the poller's write deadline gives
// os.ErrDeadlineExceeded, the context's deadline context.DeadlineExceeded
// (net.mapErr); both read "i/o timeout". So it prints whether it is one
// of them, not which.
func showDial(err error) {
	timeout := isTimeout(err)
	dl, ctx := errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded)
	edge.Printf("  err: %s\n", roles.Replace(err.Error()))
	edge.Printf("  errors.Is exactly one of os.ErrDeadlineExceeded, context.DeadlineExceeded %v; net.Error Timeout() %v\n",
		dl != ctx, timeout)
}

// listener ends the program when Accept fails (too many open files,
// say), which http.Server would otherwise log and retry for ever.
type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		edge.Fatalf("server: accept: %v", err)
	}
	return c, err
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
