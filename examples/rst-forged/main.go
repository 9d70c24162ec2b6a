// Rst-forged sends RSTs the peer never sent: the example forges them
// itself, with a raw socket, as a third party on the path could. Only
// an RST at exactly the sequence number the receiver expects next
// (RCV.NXT) resets the connection; one elsewhere in the receive window
// draws a "challenge ACK" and changes nothing (RFC 5961, 3.2); one
// outside the window is dropped. The kernel's counters tell the three
// apart, and tell a forged reset from one a kernel sent.
package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	// A socket sends at most one challenge ACK per tcp_invalid_ratelimit
	// (500 ms by default; __tcp_oow_rate_limited). Ten seconds, in this
	// program's own network namespace, so that the second RST below
	// falls within it however busy the machine.
	check(os.WriteFile("/proc/sys/net/ipv4/tcp_invalid_ratelimit", []byte("10000"), 0))
	edge.Println("client: connect(), server: accept()")
	p := edge.NewPair()
	defer p.Close()
	p.PrintSegments()
	edge.Println(`server: write("hello"), client: read()`)
	_, err := unix.Write(p.Server.FD, []byte("hello"))
	check(err)
	edge.WaitFD(p.Client.FD, unix.POLLIN)
	_, err = unix.Read(p.Client.FD, make([]byte, 5))
	check(err)
	p.PrintSegments()

	// The sequence number the client expects next from the server, as
	// its kernel holds it (tp->rcv_nxt): repair mode lets a process
	// with CAP_NET_ADMIN read it. An attacker on the path reads it off
	// the wire instead.
	rcvNxt := recvSeq(p.Client.FD)
	edge.Println("# an RST 4 MiB past the next expected byte, outside the client's receive window")
	forge(p, rcvNxt+4<<20)
	edge.Println("# an RST inside the window, 1000 bytes past the next expected byte")
	forge(p, rcvNxt+1000)
	edge.Println("# a second RST inside the window, within tcp_invalid_ratelimit")
	forge(p, rcvNxt+2000)
	edge.Println("# an RST at exactly the next expected byte")
	forge(p, rcvNxt)

	//tcpedges:show
	buf := make([]byte, 64)
	n, err := unix.Read(p.Client.FD, buf)
	edge.Printf("client: read() = %s\n", edge.Ret(n, err))
	if err != syscall.ECONNRESET {
		edge.Fatalf("the client's read returned %s, not ECONNRESET: another story", edge.Ret(n, err))
	}
	// The server was told nothing: its next segment reaches a client
	// socket that no longer exists, and the client's kernel answers
	// with a real RST.
	edge.Println(`server: write("more")`)
	before := edge.ReadCounters()
	_, err = unix.Write(p.Server.FD, []byte("more"))
	check(err)
	p.Server.WaitState("CLOSED")
	p.PrintSegments()
	n, err = unix.Read(p.Server.FD, buf)
	edge.Printf("server: read() = %s\n", edge.Ret(n, err))
	edge.Printf("the namespace's counters (client and server together): %s\n", moved(before, edge.ReadCounters()))
	//tcpedges:end
	if err != syscall.ECONNRESET {
		edge.Fatalf("the server's read returned %s, not ECONNRESET: another story", edge.Ret(n, err))
	}
}

// forge sends, from a raw socket, an RST that claims to come from the
// server, with sequence number seq, and shows what the client's kernel
// did with it.
func forge(p *edge.Pair, seq uint32) {
	//tcpedges:show
	before := edge.ReadCounters()
	client, server := info(p.Client.FD), info(p.Server.FD)
	edge.Println("attacker: send a forged RST, server > client")
	send(rst(p.Server.LocalAddr().(*net.TCPAddr), p.Client.LocalAddr().(*net.TCPAddr), seq))
	// The client's socket has handled the segment when its count of
	// segments received (tcpi_segs_in) has moved, and the server has
	// handled what the client sent in reply when its count has caught up.
	c := edge.WaitInfo(p.Client.FD, edge.Timeout, "the forged RST to reach the client's socket",
		func(i *unix.TCPInfo) bool { return i.Segs_in > client.Segs_in })
	edge.WaitInfo(p.Server.FD, edge.Timeout, "the client's reply to reach the server's socket",
		func(i *unix.TCPInfo) bool { return i.Segs_in-server.Segs_in >= c.Segs_out-client.Segs_out })
	p.PrintSegments()
	// Client and server share this namespace, and so its counters.
	edge.Printf("client: %s; the namespace's counters: %s\n", p.Client.State(), moved(before, edge.ReadCounters()))
	//tcpedges:end
}

// info is the kernel's TCP_INFO for the socket fd.
func info(fd int) *unix.TCPInfo {
	i, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	check(err)
	return i
}

// tcpRecvQueue selects the receive queue for TCP_QUEUE_SEQ: TCP_RECV_QUEUE
// in include/uapi/linux/tcp.h, which x/sys/unix does not define.
const tcpRecvQueue = 1

// recvSeq reads the socket's next expected sequence number (rcv_nxt)
// in repair mode (TCP_REPAIR), and leaves repair mode without the
// window probe that leaving it would otherwise send.
func recvSeq(fd int) uint32 {
	check(unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_REPAIR, unix.TCP_REPAIR_ON))
	check(unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_REPAIR_QUEUE, tcpRecvQueue))
	seq, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_QUEUE_SEQ)
	check(err)
	check(unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_REPAIR, unix.TCP_REPAIR_OFF_NO_WP))
	return uint32(seq)
}

// rst builds a bare TCP header, flags RST only, from src to dst, with
// its checksum over the IPv4 pseudo-header (RFC 9293, 3.1).
func rst(src, dst *net.TCPAddr, seq uint32) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], uint16(src.Port))
	binary.BigEndian.PutUint16(h[2:], uint16(dst.Port))
	binary.BigEndian.PutUint32(h[4:], seq)
	h[12] = 5 << 4 // data offset: 5 words, no options
	h[13] = 0x04   // RST
	var sum uint32
	for _, b := range [][]byte{src.IP.To4(), dst.IP.To4(), {0, unix.IPPROTO_TCP, 0, 20}, h} {
		for i := 0; i < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(h[16:], ^uint16(sum))
	return h
}

// send sends a TCP segment to 127.0.0.1 through a raw socket: the
// kernel adds the IP header (its source address: 127.0.0.1 too), and
// TCP never sees the segment leave, only arrive.
func send(segment []byte) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	check(err)
	defer unix.Close(fd)
	check(unix.Sendto(fd, segment, 0, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
}

// moved names the TCP counters that moved from before to after, and by how
// much, as nstat names them.
func moved(before, after edge.Counters) string {
	var out []string
	for name, v := range after {
		if !strings.HasPrefix(name, "Tcp.") && !strings.HasPrefix(name, "TcpExt.") {
			continue // Ip, Udp: the capture's own datagrams move them too
		}
		if d := v - before[name]; d != 0 {
			out = append(out, fmt.Sprintf("%s %+d", strings.Replace(name, ".", "", 1), d))
		}
	}
	sort.Strings(out)
	if out == nil {
		return "none"
	}
	return strings.Join(out, ", ")
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
