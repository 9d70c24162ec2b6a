// Reset-poll-events proves what poll(2) reports once an RST has
// arrived, when it is asked for every event it knows: not only
// POLLERR and POLLHUP, but POLLIN, POLLOUT and POLLRDHUP too (with
// POLLRDNORM and POLLWRNORM), because the reset socket is shut in
// both directions. POLLERR lasts only until a call takes the error;
// the rest stays.
package main

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()

	fmt.Println("# the peer closes, our write draws an RST")
	p := edge.NewPair()
	p.PrintSegments()
	fmt.Println("client: poll() reports", allEvents(p.Client.FD))
	fmt.Println("server: close()")
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	p.PrintSegments()
	fmt.Println("client: poll() reports", allEvents(p.Client.FD))
	n, err := unix.Write(p.Client.FD, []byte("hello"))
	fmt.Printf("client: write() = %s\n", edge.Ret(n, err))
	//tcpedges:show
	// Wait for the error with poll, then ask poll again for every
	// event: tcp_poll sets POLLHUP for a closed socket, POLLIN and
	// POLLRDHUP for one shut for reading, POLLOUT for one shut for
	// writing (a write will not block: it fails at once), and
	// POLLERR while SO_ERROR holds an error.
	edge.WaitFD(p.Client.FD, unix.POLLERR)
	p.PrintSegments()
	p.PrintStates()
	fmt.Println("client: poll() reports", allEvents(p.Client.FD))
	soerr, err := unix.GetsockoptInt(p.Client.FD, unix.SOL_SOCKET, unix.SO_ERROR)
	check(err)
	fmt.Printf("client: getsockopt(SO_ERROR) = %s\n", edge.SOError(soerr))
	fmt.Println("client: poll() reports", allEvents(p.Client.FD))
	//tcpedges:end
	p.Close()

	fmt.Println("# the peer aborts: an RST without a FIN")
	p = edge.NewPair()
	defer p.Close()
	p.PrintSegments()
	fmt.Println("server: setsockopt(SO_LINGER, {1, 0}), close()")
	check(unix.SetsockoptLinger(p.Server.FD, unix.SOL_SOCKET, unix.SO_LINGER,
		&unix.Linger{Onoff: 1, Linger: 0}))
	p.Server.Close()
	edge.WaitFD(p.Client.FD, unix.POLLERR)
	p.PrintSegments()
	p.PrintStates()
	fmt.Println("client: poll() reports", allEvents(p.Client.FD))
	n, err = unix.Read(p.Client.FD, make([]byte, 64))
	fmt.Printf("client: read() = %s\n", edge.Ret(n, err))
	fmt.Println("client: poll() reports", allEvents(p.Client.FD))
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
