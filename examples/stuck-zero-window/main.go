// Stuck-zero-window proves what a writer sees when its peer stops
// reading: the peer's receive buffer fills, its kernel advertises a
// window of 0, our write blocks, and our kernel probes the window with
// a backoff. For as long as the peer's kernel answers the probes, the
// connection stays ESTABLISHED: no error ever comes. A write deadline
// ends the write, not the connection.
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

//tcpedges:wait 1400ms three zero-window probes, 0.2, 0.4 and 0.8 s apart (RTO 0.2 s, doubled each time)
func main() {
	edge.ParseFlags()
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
	// The server never reads. The client writes more than both
	// buffers hold.
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
	closed := edge.WaitInfo(client.FD, edge.Timeout, "a window of 0",
		func(i *unix.TCPInfo) bool { return i.Snd_wnd == 0 })
	edge.Printf("client: the server's window is %d; conn.Write is blocked\n", closed.Snd_wnd)

	// With data to send and a window of 0, the kernel arms the probe
	// timer (tcp_check_probe_timer): it fires after the RTO, then
	// after twice as long each time (tcp_probe0_when), and sends an
	// ACK with an old sequence number (tcp_xmit_probe_skb), which the
	// peer must answer with its window.
	rto := edge.RTO(client.FD)
	start := time.Now()
	for k := 1; k <= 3; k++ {
		skipped := edge.TCPExtCounter("TCPACKSkippedSeq")
		s.GapSegments(rto<<(k-1), 1, 5*time.Second)
		// Wait until the probe is answered (an ACK sets
		// tcpi_probes back to 0) or the server's kernel chose not
		// to answer it (counted in TCPACKSkippedSeq).
		info := edge.WaitInfo(client.FD, edge.Timeout, "the probe's fate", func(i *unix.TCPInfo) bool {
			return int(i.Backoff) == k &&
				(i.Probes == 0 || edge.TCPExtCounter("TCPACKSkippedSeq") > skipped)
		})
		fate := "answered"
		if info.Probes > 0 {
			fate = "not answered (TcpExtTCPACKSkippedSeq +1)"
		}
		edge.Printf("client: probe %d %s: tcpi_backoff %d, tcpi_probes %d, state %s\n",
			k, fate, info.Backoff, info.Probes, edge.StateName(info.State))
	}
	elapsed := time.Since(start)
	//tcpedges:end
	edge.Printf("client: three probes in more than 1.2 s and less than 3 s: %v\n",
		elapsed > 1200*time.Millisecond && elapsed < 3*time.Second)

	//tcpedges:show
	// A deadline ends the blocked Write, and nothing else: the
	// connection and the data it holds stay.
	edge.Println("client: conn.SetWriteDeadline(time.Now())")
	check(client.SetWriteDeadline(time.Now()))
	r := <-done
	edge.Printf("client: conn.Write = %d, err %s\n", r.n, s.Describe(r.err))
	outq, err := unix.IoctlGetInt(client.FD, unix.SIOCOUTQ)
	check(err)
	info, err := unix.GetsockoptTCPInfo(client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	check(err)
	inq, err := unix.IoctlGetInt(server.FD, unix.SIOCINQ)
	check(err)
	edge.Printf("client: state %s, %d bytes queued (SIOCOUTQ), %d of them never sent (tcpi_notsent_bytes)\n",
		edge.StateName(info.State), outq, info.Notsent_bytes)
	edge.Printf("server: state %s, %d bytes unread (SIOCINQ)\n", server.State(), inq)
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

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
