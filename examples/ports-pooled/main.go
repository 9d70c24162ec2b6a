// Ports-pooled proves how a Go HTTP client runs out of local ports,
// and how it stops: an http.Transport keeps at most
// MaxIdleConnsPerHost idle connections per server (2 by default) and
// closes the others when their response is read. The client closes
// first, so each of those connections leaves a TIME_WAIT on the client
// for 60 s. Three requests at a time against 4 local ports: the third
// round fails with EADDRNOTAVAIL. With MaxIdleConnsPerHost 3, thirty
// requests take three connections and leave no TIME_WAIT. Each part
// runs in a network namespace of its own, with 4 local ports and
// tcp_tw_reuse 0, as between two hosts.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"

	"tcpedges/internal/edge"
)

//tcpedges:slow two namespaces of its own, 38 HTTP requests over 7 connections, and a sock_diag dump after each of 13 rounds: 110 to 130 ms
func main() {
	edge.ParseFlags()
	edge.Printf("# http.Transport, MaxIdleConnsPerHost %d (the default), 3 requests at a time\n",
		http.DefaultMaxIdleConnsPerHost)
	if run(http.DefaultMaxIdleConnsPerHost, 3) {
		edge.Fatalf("every round succeeded with 2 idle connections kept of 3: the story needs the ports to run out")
	}
	edge.Println("# MaxIdleConnsPerHost 3, 3 requests at a time")
	if !run(3, 10) {
		edge.Fatalf("a round failed with as many idle connections kept as requests at a time")
	}
}

// run makes rounds of three requests whose responses are read
// together, with a transport that keeps maxIdle idle connections, in a
// host of its own. It returns whether every request succeeded.
func run(maxIdle, rounds int) (ok bool) {
	h := edge.NewHost("host")
	defer h.Close()
	var s *edge.Scene
	var ln *net.TCPListener
	h.Do(func() {
		s = edge.NewQuietScene()
		ln = s.Listen("server")
		h.Sysctl("net.ipv4.ip_local_port_range", "61000 61003")
		h.Sysctl("net.ipv4.tcp_tw_reuse", "0")
	})
	defer s.Close()
	defer ln.Close()
	server := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello\n")
		}),
		// An error of the server (accept: too many open files, say)
		// is not the story: it ends the program, in one sentence.
		ErrorLog: log.New(fatalWriter{}, "", 0),
	}
	go server.Serve(ln)

	//tcpedges:show
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = maxIdle
	//tcpedges:end
	// The transport dials in its own goroutines: in the host, where
	// the 4 ports are.
	tr.DialContext = func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		h.Do(func() { c, err = new(net.Dialer).DialContext(ctx, network, addr) })
		return c, err
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := "http://" + ln.Addr().String() + "/"

	ok = true
	middle := ""
	for round := 1; round <= rounds && ok; round++ {
		//tcpedges:show
		// Three requests in flight: each holds its connection until its
		// response's body is read. (In order, as three goroutines would
		// make them, so that the output is the same on every run.)
		var bodies []io.ReadCloser
		reused := 0
		for i := 1; i <= 3; i++ {
			resp, err := client.Do(request(url, &reused))
			if err != nil {
				notAvail(fmt.Sprintf("round %d: request %d", round, i), s, err)
				edge.Printf("round %d: request %d: err %s\n", round, i, s.Describe(err))
				ok = false
				continue
			}
			bodies = append(bodies, resp.Body)
		}
		//tcpedges:end
		// The transport keeps a connection only if its writer has said
		// the request went out, within 50 ms of the body's end
		// (maxWriteWaitBeforeConnReuse in net/http): a program starved
		// of CPU would lose connections to that timer.
		waitWritten(len(bodies))
		//tcpedges:show
		for _, b := range bodies {
			io.Copy(io.Discard, b) // to EOF: the connection may be kept
			b.Close()
		}
		//tcpedges:end
		var states string
		h.Do(func() { states = settled(ln.Addr(), maxIdle) })
		line := fmt.Sprintf("%d responses, %d on a reused connection; sock_diag: %s", len(bodies), reused, states)
		switch {
		case round <= 3 || !ok:
			edge.Printf("round %d: %s\n", round, line)
		case round < rounds:
			// The middle rounds print once, when they are all alike.
			if middle == "" {
				middle = line
			} else if line != middle {
				middle = "not all alike"
			}
		default:
			if middle != "" {
				edge.Printf("rounds 4 to %d, each: %s\n", round-1, middle)
			}
			edge.Printf("round %d: %s\n", round, line)
		}
	}
	return ok
}

// fatalWriter ends the program with what is written to it.
type fatalWriter struct{}

func (fatalWriter) Write(p []byte) (int, error) {
	edge.Fatalf("server: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// written has a value for each request the transport has written.
var written = make(chan struct{}, 3)

// waitWritten waits until the transport has written n requests: what
// is left of its writer's work then (a flush of nothing, a send on a
// buffered channel) takes no time worth a timer of 50 ms.
func waitWritten(n int) {
	for range n {
		<-written
	}
}

// request is a GET of url that counts, in reused, the connections it
// was given that had served a request before.
func request(url string, reused *int) *http.Request {
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				*reused++
			}
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { written <- struct{}{} },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url, nil)
	edge.Check(err, "new request")
	return req
}

// settled waits until the client's connections to server are either
// kept (at most maxIdle ESTABLISHED) or closed all the way to
// TIME_WAIT, and says how many there are of each.
func settled(server net.Addr, maxIdle int) string {
	edge.WaitConnsTo(server, "the transport to keep or close its connections", func(socks []*netlink.Socket) bool {
		established := 0
		for _, s := range socks {
			switch edge.StateName(s.State) {
			case "ESTABLISHED":
				established++
			case "TIME_WAIT":
			default:
				return false
			}
		}
		return established <= maxIdle
	})
	return edge.StatesTo(server)
}

// notAvail ends the program unless err is EADDRNOTAVAIL, the ports run
// out: any other outcome (too many open files, say) tells another
// story.
func notAvail(step string, s *edge.Scene, err error) {
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		edge.Fatalf("%s: net.Dial(server): %s, where the story needs EADDRNOTAVAIL", step, s.Describe(err))
	}
}
