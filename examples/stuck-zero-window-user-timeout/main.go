// Stuck-zero-window-user-timeout proves what ends a connection whose
// peer stops reading but answers every zero-window probe: not the
// probes, nor tcp_retries2, but TCP_USER_TIMEOUT, counted from the
// first probe. The write fails with ETIMEDOUT; the peer is not told.
package main

import (
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
	s.ShowWindow()
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
	go func() {
		n, err := client.Write(make([]byte, 64<<10))
		done <- result{n, err}
	}()
	edge.WaitInfo(client.FD, edge.Timeout, "a window of 0",
		func(i *unix.TCPInfo) bool { return i.Snd_wnd == 0 })
	edge.Println("client: the server's window is 0; conn.Write is blocked")

	rto := edge.RTO(client.FD)
	var firstProbe time.Time
	for k := 1; k <= 2; k++ {
		s.GapSegments(rto<<(k-1), 2, 5*time.Second)
		// The answer sets tcpi_probes back to 0.
		info := edge.WaitInfo(client.FD, edge.Timeout, "the probe's answer", func(i *unix.TCPInfo) bool {
			return int(i.Backoff) == k && i.Probes == 0
		})
		if k == 1 {
			firstProbe = time.Now()
		}
		edge.Printf("client: probe %d answered: tcpi_backoff %d, tcpi_probes %d, state %s\n",
			k, info.Backoff, info.Probes, edge.StateName(info.State))
	}
	// The probe timer notes when it sent the first probe
	// (icsk_probes_tstamp); answers do not reset it, only a window
	// that opens. Each next probe is due within what is left of the
	// user timeout (tcp_clamp_probe0_to_user_timeout); when the timer
	// finds the user timeout passed, tcp_probe_timer gives up
	// (tcp_write_err): ETIMEDOUT, and nothing sent.
	edge.Gap(userTimeout - 2*rto)
	r := <-done
	elapsed := time.Since(firstProbe)
	edge.Printf("client: conn.Write = %d, err %s\n", r.n, s.Describe(r.err))
	edge.Printf("client: state %s\n", client.State())
	inq, err := unix.IoctlGetInt(server.FD, unix.SIOCINQ)
	check(err)
	edge.Printf("server: state %s, %d bytes unread (SIOCINQ)\n", server.State(), inq)
	//tcpedges:end
	edge.Printf("client: gave up more than 0.4 s and less than 1.5 s after its first probe: %v\n",
		elapsed > 400*time.Millisecond && elapsed < 1500*time.Millisecond)
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

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
