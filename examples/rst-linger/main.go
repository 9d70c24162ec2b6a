// Rst-linger compares the three ways to close with SO_LINGER. The
// default close sends a FIN and returns at once; SO_LINGER with a zero
// timeout (Go: SetLinger(0)) sends an RST instead, discards what was
// not yet sent, and leaves no TIME_WAIT behind; a positive timeout
// sends a FIN and makes close block until the peer has acknowledged
// it, or until the timeout runs out.
package main

import (
	"time"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 80ms the server's delayed ACKs of two FINs that follow data (TCP_ATO_MIN, 40 ms each)
//tcpedges:slow three connections, each with its own capture, add about 50 ms to the 80 ms of delayed ACKs the lingering close waits for
func main() {
	edge.ParseFlags()

	edge.Println("== default close()")
	closeWith(-1)
	edge.Println("== SO_LINGER {on, 0s}: conn.SetLinger(0)")
	closeWith(0)
	edge.Println("== SO_LINGER {on, 5s}: conn.SetLinger(5)")
	closeWith(5)
}

// delayedACK is how long the server's kernel delays its ACK of a FIN
// that follows data: tcp_fin switches the socket to delayed ACKs, and
// the data received set the delay to TCP_ATO_MIN (include/net/tcp.h).
const delayedACK = 40 * time.Millisecond

// closeWith closes the client of a new pair with SO_LINGER set to
// sec seconds (negative: SO_LINGER off, the default), and shows what
// was sent and what each side sees.
func closeWith(sec int) {
	p := edge.NewPair()
	defer p.Close()
	p.PrintSegments()

	if sec >= 0 {
		// SetLinger is setsockopt(SO_LINGER, {l_onoff 1, l_linger sec}).
		check(p.Client.SetLinger(sec))
		l, err := unix.GetsockoptLinger(p.Client.FD, unix.SOL_SOCKET, unix.SO_LINGER)
		check(err)
		edge.Printf("client: SO_LINGER {l_onoff %d, l_linger %d}\n", l.Onoff, l.Linger)
	}
	edge.Println(`client: conn.Write("bye")`)
	_, err := p.Client.Write([]byte("bye"))
	check(err)
	edge.WaitAcked(p.Client.FD)

	//tcpedges:show
	// inet_release passes the linger time to tcp_close, which with
	// a positive time waits in sk_stream_wait_close until the FIN is
	// acknowledged; with l_linger 0 it calls tcp_disconnect, which
	// sends an RST (tcp_send_active_reset).
	start := time.Now()
	edge.Println("client: close()")
	p.Client.Close()
	took, state := time.Since(start), p.Client.State()
	if sec == 0 {
		edge.WaitFD(p.Server.FD, unix.POLLERR) // the RST has arrived
		p.PrintSegments()
	} else {
		// The server acknowledges the FIN with a delayed ACK, which
		// a lingering close waited for and the default close did
		// not: let it come before the server acts, so that the
		// order is always the same.
		p.Client.WaitState("FIN_WAIT2")
		p.PrintDelayed(delayedACK)
	}
	if sec > 0 {
		// Right after close returned, the ACK of the FIN is there:
		// FIN_WAIT2. Only a close that waited can promise that.
		edge.Printf("client: close returned within %ds: %v, in state %s\n",
			sec, took < time.Duration(sec)*time.Second, state)
	}

	// The server reads what is left, then the end.
	buf := make([]byte, 64)
	for {
		n, err := p.Server.Read(buf)
		edge.Printf("server: conn.Read = %d %q, err %s\n", n, buf[:n], p.Describe(err))
		if err != nil {
			break
		}
	}
	if sec != 0 {
		edge.Println("server: close()")
		p.Server.Close()
		p.Server.WaitState("CLOSED") // the client's ACK of its FIN has arrived
	}
	p.PrintSegments()
	p.PrintStates()
	//tcpedges:end
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
