// Read-after-shutdown-rdwr proves that a socket whose reading side is
// shut does answer new data with an RST once its writing side is shut
// too, while the program still holds it: after shutdown(SHUT_RDWR)
// the peer's next data draws an RST from our own kernel, and our own
// read then fails with ECONNRESET. Data that arrived before the
// shutdown is not affected. poll is asked for every event it knows,
// and all it reports is printed.
package main

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	p := edge.NewPair()
	defer p.Close()
	fmt.Println("# data that arrives after the shutdown")
	p.PrintSegments()

	//tcpedges:show
	fmt.Println("client: shutdown(SHUT_RDWR)")
	check(unix.Shutdown(p.Client.FD, unix.SHUT_RDWR))
	// Only a FIN goes out: tcp_shutdown sends it, and looks at
	// nothing else.
	p.Client.WaitState("FIN_WAIT2")
	p.PrintSegments()
	p.PrintStates()
	fmt.Println("client: poll() reports", allEvents(p.Client.FD))

	// The descriptor is still open. New data in FIN_WAIT2 on a
	// socket shut for reading: tcp_rcv_state_process resets the
	// connection (tcp_reset, ECONNRESET for us) and answers the
	// data with an RST.
	n, err := p.Server.Write([]byte("late"))
	fmt.Printf("server: conn.Write(\"late\") = %d, err %s\n", n, p.Describe(err))
	edge.WaitFD(p.Client.FD, unix.POLLERR)
	p.PrintSegments()
	p.PrintStates()
	fmt.Println("client: poll() reports", allEvents(p.Client.FD))

	buf := make([]byte, 64)
	n, err = unix.Read(p.Client.FD, buf)
	fmt.Printf("client: read() = %s\n", edge.Ret(n, err))
	n, err = unix.Read(p.Client.FD, buf)
	fmt.Printf("client: read() again = %s\n", edge.Ret(n, err))
	//tcpedges:end

	// The server had our FIN first: CLOSE_WAIT, then the RST,
	// which tcp_reset records as EPIPE in that state.
	soerr, err := unix.GetsockoptInt(p.Server.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	fmt.Printf("server: getsockopt(SO_ERROR) = %s\n", edge.SOError(soerr))

	// Data that was already queued when the reading side was shut is
	// still read, and draws no RST: only new data does.
	fmt.Println("# data queued before the shutdown")
	q := edge.NewPair()
	defer q.Close()
	q.PrintSegments()
	n, err = q.Server.Write([]byte("early"))
	fmt.Printf("server: conn.Write(\"early\") = %d, err %s\n", n, q.Describe(err))
	edge.WaitAcked(q.Server.FD)
	q.PrintSegments()
	fmt.Println("client: shutdown(SHUT_RDWR)")
	check(unix.Shutdown(q.Client.FD, unix.SHUT_RDWR))
	q.Client.WaitState("FIN_WAIT2")
	q.PrintSegments()
	n, err = unix.Read(q.Client.FD, buf)
	fmt.Printf("client: read() = %s %q\n", edge.Ret(n, err), buf[:max(n, 0)])
	n, err = unix.Read(q.Client.FD, buf)
	fmt.Printf("client: read() = %s\n", edge.Ret(n, err))
	q.PrintSegments()
	q.PrintStates()
}

// allEvents asks poll(2) for every event it defines and names all
// that it reports. poll reports only the events asked for, plus
// POLLERR and POLLHUP, so a narrower question hides events.
func allEvents(fd int) string {
	var ask int16
	for _, e := range pollBits {
		ask |= e.bit
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: ask}}
	_, err := unix.Poll(pfd, 0)
	check(err)
	var names []string
	for _, e := range pollBits {
		if pfd[0].Revents&e.bit != 0 {
			names = append(names, e.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "|")
}

// Every poll event of <asm-generic/poll.h>, and POLLRDHUP; x/sys/unix
// names only some of them.
var pollBits = []struct {
	bit  int16
	name string
}{
	{unix.POLLIN, "POLLIN"},
	{0x040, "POLLRDNORM"},
	{0x080, "POLLRDBAND"},
	{unix.POLLPRI, "POLLPRI"},
	{unix.POLLOUT, "POLLOUT"},
	{0x100, "POLLWRNORM"},
	{0x200, "POLLWRBAND"},
	{0x400, "POLLMSG"},
	{unix.POLLRDHUP, "POLLRDHUP"},
	{unix.POLLERR, "POLLERR"},
	{unix.POLLHUP, "POLLHUP"},
	{unix.POLLNVAL, "POLLNVAL"},
}

func check(err error) { edge.Check(err, "unexpected error") }
