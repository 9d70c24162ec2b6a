// Idle-http-retry proves what Go's http.Transport does when the server
// closes a keep-alive connection just as the Transport sends a request
// on it: it sends an idempotent request (GET, or one with an
// Idempotency-Key header) again, on a new connection, and the caller
// sees no error; a POST fails, with the error its read got: "connection
// reset by peer" when the server's close found the request unread, EOF
// when the server's FIN crossed the request. A FIN that arrives while
// the connection is idle costs nothing: the Transport drops the
// connection before its next request. The server is a few lines over
// raw connections, so that the program chooses when it closes.
package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

var (
	s  *edge.Scene
	ln *net.TCPListener

	mu      sync.Mutex
	clients []string // the client's addresses, to print as "client"
)

func main() {
	edge.ParseFlags()
	s = edge.NewQuietScene()
	defer s.Close()
	ln = s.Listen("server")
	defer ln.Close()
	url := "http://" + ln.Addr().String() + "/"

	var d net.Dialer
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err == nil {
				mu.Lock()
				clients = append(clients, c.LocalAddr().String())
				mu.Unlock()
			}
			return c, err
		},
	}}
	get := func() *http.Request {
		req, err := http.NewRequest("GET", url, nil)
		check(err)
		return req
	}
	post := func() *http.Request {
		req, err := http.NewRequest("POST", url, strings.NewReader("order=42"))
		check(err)
		return req
	}

	edge.Println("# GET: the server closes with the request unread")
	edge.Println("client: GET")
	res := start(client, get(), nil)
	srv := serve(accept())
	edge.Println("client:", <-res)

	//tcpedges:show
	edge.Println("client: GET")
	res = start(client, get(), nil)
	// The request has arrived; the server's idle timeout fires before
	// it reads it: close() sends an RST (data unread).
	edge.WaitFD(srv.FD, unix.POLLIN)
	edge.Println("server: close() with the request unread")
	srv.Close()
	// The Transport sends the GET again, on a new connection.
	srv = serve(accept())
	edge.Println("client:", <-res)
	//tcpedges:end

	edge.Println("# POST: the server closes with the request unread")
	//tcpedges:show
	edge.Println("client: POST")
	res = start(client, post(), syscall.ECONNRESET)
	edge.WaitFD(srv.FD, unix.POLLIN)
	edge.Println("server: close() with the request unread")
	srv.Close()
	edge.Println("client:", <-res)
	//tcpedges:end

	edge.Println("# POST with an Idempotency-Key header: the same")
	edge.Println("client: GET")
	res = start(client, get(), nil)
	srv = serve(accept())
	edge.Println("client:", <-res)
	//tcpedges:show
	edge.Println("client: POST, Idempotency-Key: 42")
	req := post()
	req.Header.Set("Idempotency-Key", "42")
	res = start(client, req, nil)
	edge.WaitFD(srv.FD, unix.POLLIN)
	edge.Println("server: close() with the request unread")
	srv.Close()
	srv = serve(accept())
	edge.Println("client:", <-res)
	//tcpedges:end

	edge.Println("# POST: the server's FIN comes before any answer")
	//tcpedges:show
	edge.Println("client: POST")
	res = start(client, post(), io.EOF)
	// Loopback keeps no FIN in flight: the server sends its FIN once
	// the request has arrived, which is what the client sees when the
	// two cross on a network. Its close() then finds the request
	// unread and sends an RST, as a closed socket answers the request
	// that crossed its FIN.
	edge.WaitFD(srv.FD, unix.POLLIN)
	edge.Println("server: shutdown(SHUT_WR), then close(), the request unread")
	check(srv.CloseWrite())
	srv.Close()
	edge.Println("client:", <-res)
	//tcpedges:end

	edge.Println("# GET: the server's FIN arrives while the connection is idle")
	edge.Println("client: GET")
	res = start(client, get(), nil)
	srv = serve(accept())
	edge.Println("client:", <-res)
	//tcpedges:show
	edge.Println("server: close() (idle timeout)")
	srv.Close()
	// The Transport's read loop, waiting on every idle connection,
	// reads the FIN and closes the connection: its socket goes away.
	state := edge.WaitConnState(srv.RemoteAddr().(*net.TCPAddr),
		srv.LocalAddr().(*net.TCPAddr), "CLOSED")
	edge.Printf("client: the Transport closed its end: %s\n", state)
	edge.Println("client: GET")
	res = start(client, get(), nil)
	srv = serve(accept())
	edge.Println("client:", <-res)
	//tcpedges:end
	srv.Close()
}

// start sends req in a goroutine of its own; the result, with the
// connections it was sent on, comes on the channel. The request must
// succeed when want is nil, else fail with want: any other outcome
// would tell another story.
func start(client *http.Client, req *http.Request, want error) <-chan string {
	out := make(chan string, 1)
	var conns []string
	wrote := make(chan struct{}, 8)
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				conns = append(conns, "reused")
			} else {
				conns = append(conns, "new")
			}
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote <- struct{}{} },
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	go func() {
		resp, err := client.Do(req)
		switch {
		case want == nil:
			check(err)
		case err == nil:
			edge.Fatalf("the %s succeeded: expected it to fail with %v", req.Method, want)
		case !errors.Is(err, want):
			edge.Fatalf("the %s failed with %v: expected %v", req.Method, err, want)
		default:
			out <- "err " + logged(err) + result(err, conns)
			return
		}
		// The Transport takes a connection back into its pool only if
		// its writer has reported the request written within 50 ms of
		// the body's end (maxWriteWaitBeforeConnReuse): wait for the
		// report of each attempt, so that a program starved of CPU
		// does not lose the connection to that timer.
		for range conns {
			select {
			case <-wrote:
			case <-time.After(edge.Timeout):
				edge.Fatalf("the Transport did not report the %s written", req.Method)
			}
		}
		// Read to the end, so that the Transport takes the connection
		// back into its pool before Do's result is printed.
		_, err = io.Copy(io.Discard, resp.Body)
		check(err)
		resp.Body.Close()
		out <- resp.Status + result(nil, conns)
	}()
	return out
}

// result says on which connections a request was sent, and which
// errors the error is.
func result(err error, conns []string) string {
	r := "; connections: " + strings.Join(conns, ", ")
	if err != nil {
		r += "\n  errors.Is(err, io.EOF) " + yes(errors.Is(err, io.EOF)) +
			", errors.Is(err, syscall.ECONNRESET) " + yes(errors.Is(err, syscall.ECONNRESET))
	}
	return r
}

func yes(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// accept takes the next connection, as the server.
func accept() *edge.End { return s.Accept(ln, "server") }

// serve reads one request on c and answers it, keeping the connection
// open, as an HTTP/1.1 server does.
func serve(c *edge.End) *edge.End {
	req, err := http.ReadRequest(bufio.NewReader(c))
	check(err)
	_, err = io.Copy(io.Discard, req.Body)
	check(err)
	edge.Printf("server: %s, answered 200 OK\n", req.Method)
	_, err = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	check(err)
	return c
}

// logged is err as a log shows it, with roles for the addresses.
func logged(err error) string {
	text := strings.ReplaceAll(err.Error(), ln.Addr().String(), "server")
	mu.Lock()
	defer mu.Unlock()
	for _, c := range clients {
		text = strings.ReplaceAll(text, c, "client")
	}
	return text
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
