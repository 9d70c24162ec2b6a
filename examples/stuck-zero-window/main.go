// Stuck-zero-window proves what a writer sees when its peer stops
// reading: the peer's receive buffer fills, its kernel advertises a
// window of 0, our write blocks, and our kernel probes the window with
// a backoff. For as long as the peer's kernel answers the probes, the
// connection stays ESTABLISHED: no error ever comes. A write deadline
// ends the write, not the connection.
package main

import (
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

// bufSize is what both ends ask for their send and receive buffers,
// before the handshake (the kernel doubles it): a window of a few
// kilobytes, filled at once.
const bufSize = 4096

//tcpedges:wait 1400ms three zero-window probes, 0.2, 0.4 and 0.8 s apart (RTO 0.2 s, doubled each time)
func main() {
	edge.ParseFlags()
	s := edge.NewScene()
	defer s.Close()
	s.ShowWindow("server")
	ln := s.ListenWith("server", smallBuffers)
	client := s.DialWith("client", ln.Addr(), smallBuffers)
	server := s.Accept(ln, "server")
	defer client.Close()
	defer server.Close()
	check(ln.Close())
	got, err := unix.GetsockoptInt(server.FD, unix.SOL_SOCKET, unix.SO_RCVBUF)
	check(err)
	edge.Printf("connected, SO_RCVBUF and SO_SNDBUF %d on both ends (getsockopt: %d)\n", bufSize, got)

	//tcpedges:show
	// The server never reads. The client writes more than both
	// buffers hold.
	edge.Println("client: conn.Write(64 KiB); the server does not read")
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		n, err := client.Write(make([]byte, 64<<10))
		done <- result{n, err}
	}()
	// With data to send and a window of 0, the kernel arms the probe
	// timer (tcp_check_probe_timer): it fires after the RTO, then
	// after twice as long each time (tcp_probe0_when, tcpi_backoff
	// counts the doublings), and sends an ACK with an old sequence
	// number (tcp_xmit_probe_skb), which the peer must answer with
	// its window. An answer sets tcpi_probes, the probes unanswered,
	// back to 0.
	rto := edge.RTO(client.FD)
	info := edge.WaitInfo(client.FD, 5*time.Second, "three probes, the last answered",
		func(i *unix.TCPInfo) bool { return i.Backoff == 3 && i.Probes == 0 })
	elapsed := time.Since(start)
	s.PrintPaused(probe, rto, 2*rto, 4*rto)
	//tcpedges:end
	select {
	case r := <-done:
		edge.Fatalf("conn.Write returned (%d, %v) while the window was 0", r.n, r.err)
	default:
	}
	//tcpedges:show
	edge.Printf("client: conn.Write is blocked; tcpi_snd_wnd %d, tcpi_backoff %d, tcpi_probes %d, state %s\n",
		info.Snd_wnd, info.Backoff, info.Probes, edge.StateName(info.State))
	// The server's kernel answers a segment outside its window at most
	// once per tcp_invalid_ratelimit, 500 ms (tcp_oow_rate_limited),
	// and counts those it does not answer.
	edge.Printf("server: probes not answered: %d (TcpExtTCPACKSkippedSeq)\n",
		edge.TCPExtCounter("TCPACKSkippedSeq"))
	//tcpedges:end
	// 0.2 + 0.4 + 0.8 s, less the kernel's clock ticks (jiffies) the
	// timer is counted in.
	// A lower bound only: a program starved of CPU can look late.
	edge.Printf("client: the third probe came more than 1.35 s after conn.Write began: %v\n",
		elapsed > 1350*time.Millisecond)

	//tcpedges:show
	// A deadline ends the blocked Write, and nothing else: the
	// connection and the data it holds stay.
	edge.Println("client: conn.SetWriteDeadline(time.Now())")
	check(client.SetWriteDeadline(time.Now()))
	r := <-done
	edge.Printf("client: conn.Write = n, err %s\n", s.Describe(r.err))
	outq, err := unix.IoctlGetInt(client.FD, unix.SIOCOUTQ)
	check(err)
	info, err = unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	check(err)
	inq, err := unix.IoctlGetInt(server.FD, unix.SIOCINQ)
	check(err)
	edge.Printf("server: state %s, %d bytes unread (SIOCINQ)\n", server.State(), inq)
	// How many bytes the kernel took (n) depends on how it counts its
	// buffers' memory, which differs between kernels and machines:
	// what holds is where they went.
	edge.Printf("client: state %s; n = those %d + the bytes queued here (SIOCOUTQ): %v; none of them sent (tcpi_notsent_bytes = SIOCOUTQ): %v\n",
		edge.StateName(info.State), inq, r.n == inq+outq, int(info.Notsent_bytes) == outq)
	//tcpedges:end
	s.PrintSegments()
}

// smallBuffers sets SO_RCVBUF and SO_SNDBUF on a socket before its
// handshake, so that the window it offers is a few kilobytes and its
// scale 0.
func smallBuffers(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, bufSize); err != nil {
		return err
	}
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, bufSize)
}

// probe says whether a segment is a zero-window probe: the client's
// only segments without data once the window is 0.
func probe(seg string) bool {
	return strings.HasPrefix(seg, "client > ") && strings.HasSuffix(seg, "length 0")
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
