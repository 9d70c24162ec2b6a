// Stuck-zero-window-user-timeout proves what ends a connection whose
// peer stops reading but answers every zero-window probe: not the
// probes, nor tcp_retries2, but TCP_USER_TIMEOUT, counted from the
// first probe. The write fails with ETIMEDOUT; the peer is not told.
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

// userTimeout is the client's TCP_USER_TIMEOUT.
const userTimeout = 500 * time.Millisecond

//tcpedges:wait 700ms the first zero-window probe after the RTO (0.2 s), then TCP_USER_TIMEOUT (0.5 s)
func main() {
	edge.ParseFlags()
	// A host of our own, so that its sysctl changes nothing else.
	h := edge.NewHost("host")
	defer h.Close()
	// A kernel answers a segment outside its window, such as a
	// zero-window probe, at most once per tcp_invalid_ratelimit
	// (500 ms; tcp_oow_rate_limited): with 0, it answers every probe.
	h.Sysctl("net.ipv4.tcp_invalid_ratelimit", "0")
	h.Do(run)
}

func run() {
	s := edge.NewScene()
	defer s.Close()
	s.ShowWindow("server")
	ln := s.ListenWith("server", smallBuffers)
	client := s.DialWith("client", ln.Addr(), smallBuffers)
	server := s.Accept(ln, "server")
	defer client.Close()
	defer server.Close()
	check(ln.Close())
	edge.Printf("connected, SO_RCVBUF and SO_SNDBUF %d on both ends\n", bufSize)

	//tcpedges:show
	edge.Printf("client: setsockopt(TCP_USER_TIMEOUT, %d)\n", userTimeout.Milliseconds())
	check(unix.SetsockoptInt(client.FD, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT,
		int(userTimeout.Milliseconds())))
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
	// Two probes, 0.2 and 0.4 s apart, both answered (the capture
	// shows the answers), then the user timeout.
	rto := edge.RTO(client.FD)
	r := <-done
	elapsed := time.Since(start)
	s.PrintPaused(probe, rto, 2*rto)
	// The probe timer notes when it sent the first probe
	// (icsk_probes_tstamp); answers do not reset it, only a window
	// that opens. Each next probe is due within what is left of the
	// user timeout (tcp_clamp_probe0_to_user_timeout); when the timer
	// finds the user timeout passed, tcp_probe_timer gives up
	// (tcp_write_err): ETIMEDOUT, and nothing sent.
	edge.Gap(userTimeout - 2*rto)
	edge.Printf("client: conn.Write = n, err %s\n", s.Describe(r.err))
	edge.Printf("client: state %s\n", client.State())
	inq, err := unix.IoctlGetInt(server.FD, unix.SIOCINQ)
	check(err)
	edge.Printf("server: state %s, %d bytes unread (SIOCINQ)\n", server.State(), inq)
	// n, the bytes the kernel took, depends on how it counts its
	// buffers' memory, which differs between kernels and machines.
	edge.Printf("client: n > the %d bytes the server holds: %v\n", inq, r.n > inq)
	//tcpedges:end
	// The RTO and the user timeout, 0.7 s, less the kernel's clock
	// ticks (jiffies) the timers are counted in.
	// A lower bound only: a program starved of CPU can look late.
	edge.Printf("client: conn.Write failed more than 0.65 s after it began: %v\n",
		elapsed > 650*time.Millisecond)
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
