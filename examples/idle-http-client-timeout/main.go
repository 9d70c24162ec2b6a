// Idle-http-client-timeout proves the fix for the keep-alive race: a
// client whose Transport.IdleConnTimeout is shorter than the server's
// IdleTimeout closes its idle connections itself, before the server
// does, so that it never sends a request on a connection the server is
// closing. Who closed first shows in the kernel's states: the side that
// closes first ends in TIME_WAIT. With the server's timeout the shorter,
// the server closes first, and the client's next request could cross
// its FIN; with the client's the shorter, the client closes first, and
// its next request goes on a new connection.
package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"time"

	"tcpedges/internal/edge"
)

//tcpedges:wait 10ms an idle timeout of 5 ms, once on the server's side, once on the client's
//tcpedges:slow starting the program, two servers and their connections add about 30 ms to the 10 ms of idle timeouts

func main() {
	edge.ParseFlags()
	s := edge.NewQuietScene()
	defer s.Close()

	edge.Println("# the server's IdleTimeout is the shorter")
	//tcpedges:show
	run(s, &http.Server{IdleTimeout: 5 * time.Millisecond},
		&http.Transport{IdleConnTimeout: 0}, // the zero Transport's: no limit
		"CLOSED")
	//tcpedges:end

	edge.Println("# the client's IdleConnTimeout is the shorter")
	//tcpedges:show
	run(s, &http.Server{IdleTimeout: time.Minute},
		&http.Transport{IdleConnTimeout: 5 * time.Millisecond},
		"TIME_WAIT")
	//tcpedges:end
}

// run serves one GET with srv to a client using tr, waits until the
// idle connection is gone, and says who closed it first; the client's
// end must end in want, or the timeouts did not fire in the order set.
func run(s *edge.Scene, srv *http.Server, tr *http.Transport, want string) {
	ln := s.Listen("server")
	closed := make(chan struct{}, 2) // one for each connection
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	go srv.Serve(listener{ln})
	defer srv.Close()

	local := make(chan *net.TCPAddr, 2)
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			local <- c.LocalAddr().(*net.TCPAddr)
		}
		return c, err
	}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	limit := tr.IdleConnTimeout.String()
	if tr.IdleConnTimeout == 0 {
		limit = "0 (no limit)"
	}
	edge.Printf("server: IdleTimeout %v; client: IdleConnTimeout %s\n", srv.IdleTimeout, limit)
	get := func() {
		reused := false
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, err := http.NewRequestWithContext(
			httptrace.WithClientTrace(context.Background(), trace),
			"GET", "http://"+ln.Addr().String()+"/", nil)
		check(err)
		resp, err := client.Do(req)
		check(err)
		_, err = io.Copy(io.Discard, resp.Body)
		check(err)
		resp.Body.Close()
		edge.Printf("client: GET = %s, connection reused %v\n", resp.Status, reused)
	}
	get()
	c := <-local

	// The side that closes first ends in TIME_WAIT, the other in
	// CLOSED: wait for either, on the client's end.
	st := edge.WaitConnState(c, ln.Addr().(*net.TCPAddr), "TIME_WAIT", "CLOSED")
	<-closed // and the server has closed its end too
	if st != want {
		edge.Fatalf("the client's end of the idle connection is %s, not %s: "+
			"the timeouts did not fire in the order they were set", st, want)
	}
	first := "the server"
	if st == "TIME_WAIT" {
		first = "the client"
	}
	edge.Printf("idle connection gone: client's end %s, so %s closed first\n", st, first)
	get()
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
