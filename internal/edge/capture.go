package edge

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Capture reads the segments of chosen connections off an interface
// with an AF_PACKET socket (which needs CAP_NET_RAW over the
// network namespace, as the program has in its own), and prints them like
// tcpdump does, with roles for addresses and relative sequence
// numbers:
//
//	client > server: Flags [F.], seq 6, ack 1, length 0
//
// Nothing is read until [Capture.Segments] asks: the kernel queues the
// packets on the socket meanwhile.
type Capture struct {
	fd     int
	roles  func(from, to netip.AddrPort) (src, dst string) // "" for an endpoint we don't show
	base   map[flow]uint32                                 // first sequence number in each direction
	marker *net.UDPConn                                    // on lo: a UDP socket sending to itself
	wire   *wireMarker                                     // on any other interface: a frame sent out
	buf    []byte
	window string   // print the window field of the segments this role sends: see stuck.go
	held   []string // read, not yet printed: see Scene.PrintAfter

	// Hosts names the hosts of a lab by address. When set, ICMP
	// errors between named hosts about a shown segment are shown too:
	//
	//	router > client: ICMP host server unreachable, for client > server
	Hosts func(netip.Addr) string
}

// NewCapture starts capturing on the interface iface. A segment is
// shown when role names both its source and its destination; role is
// asked only when the segments are read, so it may name endpoints that
// did not exist yet when the capture started.
//
// It is a plain packet socket read with recvfrom, not gopacket's
// packet socket: setting up a ring, or binding a socket that already
// receives, waits for an RCU grace period (synchronize_net), which
// costs more than the rest of an example. A socket opened with
// protocol 0 receives nothing until bind, and so needs no wait.
func NewCapture(iface string, role func(netip.AddrPort) string) (*Capture, error) {
	return newCapture(iface, func(from, to netip.AddrPort) (string, string) { return role(from), role(to) })
}

// newCapture is [NewCapture] with roles that may depend on the
// connection, not only on the address: see [Scene.roles].
func newCapture(iface string, roles func(from, to netip.AddrPort) (string, string)) (*Capture, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	c := &Capture{fd: fd, roles: roles, base: map[flow]uint32{}, buf: make([]byte, 1<<16)}
	// A packet socket on lo sees every packet twice: going out and
	// coming back in. Keep the incoming copy, as tcpdump does. It is
	// taken before TCP processes the segment, so once a segment has had
	// its effect (a state change), it is in the queue. Headers are all
	// we print: keep 128 bytes of each packet. On any other interface
	// each packet passes once, in or out: keep them all.
	prog := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
		bpf.RetConstant{Val: 128},
		bpf.RetConstant{Val: 0},
	}
	if iface != "lo" {
		prog = []bpf.Instruction{bpf.RetConstant{Val: 128}}
	}
	filter, err := bpf.Assemble(prog)
	if err == nil {
		err = attach(fd, filter)
	}
	if err == nil {
		// Room for a few thousand packets between two reads. Beyond
		// net.core.rmem_max only root of the machine may go (the
		// kernel asks capable(CAP_NET_ADMIN), not the namespace's):
		// in a user namespace the queue holds a few hundred.
		err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
		if err == unix.EPERM {
			err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 16<<20)
		}
	}
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index})
	}
	switch {
	case err != nil:
	case iface == "lo":
		c.marker, err = newMarker()
	default:
		c.wire, err = newWireMarker(ifi)
	}
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	startPrinting(c)
	return c, nil
}

// newMarker opens the UDP socket whose datagrams, sent to itself on
// 127.0.0.1, mark the end of what Segments reads.
func newMarker() (*net.UDPConn, error) {
	return net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
}

func attach(fd int, filter []bpf.RawInstruction) error {
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: (*unix.SockFilter)(unsafe.Pointer(&filter[0]))}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Close stops the capture.
func (c *Capture) Close() {
	stopPrinting(c)
	unix.Close(c.fd)
	if c.marker != nil {
		c.marker.Close()
	}
	if c.wire != nil {
		unix.Close(c.wire.fd)
	}
}

// Segments returns the segments captured since the last call.
//
// To know it has them all, it sends a marker datagram through
// loopback and reads up to it: what passed before the marker is in the
// ring before it. Call it once the last segment you want to see has
// had its effect on the receiver (a state change, data to read).
//
// On an interface other than lo the marker is an Ethernet frame of a
// type no host handles, sent out of the interface: what the interface
// received before, and what it sent, is in the ring before it.
func (c *Capture) Segments() []string {
	var marker netip.AddrPort
	if c.wire != nil {
		c.wire.send()
	} else {
		self := c.marker.LocalAddr().(*net.UDPAddr)
		_, err := c.marker.WriteToUDP([]byte("marker"), self)
		Check(err, "send the capture marker")
		marker = self.AddrPort()
	}

	lines := c.held
	c.held = nil
	deadline := time.Now().Add(Timeout)
	for {
		data := c.read(deadline)
		if c.wire != nil && c.wire.is(data) {
			c.checkDrops()
			return lines
		}
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
		ip, _ := pkt.NetworkLayer().(*layers.IPv4)
		if ip == nil {
			continue
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP)
		dst, _ := netip.AddrFromSlice(ip.DstIP)
		switch l4 := pkt.TransportLayer().(type) {
		case *layers.UDP:
			if c.marker != nil && netip.AddrPortFrom(src, uint16(l4.SrcPort)) == marker {
				c.checkDrops()
				// Take the datagram off the socket, or flushes would fill it.
				_, err := c.marker.Read(make([]byte, 16))
				Check(err, "read the capture marker")
				return lines
			}
		case *layers.TCP:
			from := netip.AddrPortFrom(src, uint16(l4.SrcPort))
			to := netip.AddrPortFrom(dst, uint16(l4.DstPort))
			payload := int(ip.Length) - int(ip.IHL)*4 - int(l4.DataOffset)*4
			if line, ok := c.format(from, to, l4, payload); ok {
				lines = append(lines, line)
			}
		}
		if icmp, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok && c.Hosts != nil {
			if line, ok := c.formatICMP(src, dst, icmp); ok {
				lines = append(lines, line)
			}
		}
	}
}

// checkDrops ends the program if the ring overflowed: a capture with a
// hole in it would print a wrong story.
func (c *Capture) checkDrops() {
	st, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	Check(err, "capture statistics")
	if st.Drops > 0 {
		Fatalf("capture: the kernel dropped %d packets from a full queue", st.Drops)
	}
}

// read returns the next packet, waiting for it with poll(2).
func (c *Capture) read(deadline time.Time) []byte {
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if err == nil {
			return c.buf[:n]
		}
		if err != unix.EAGAIN && err != unix.EINTR {
			Check(err, "capture")
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			Fatalf("capture: the marker did not come back within %v", Timeout)
		}
		_, err = unix.Poll([]unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}, int(wait/time.Millisecond)+1)
		if err != nil && err != unix.EINTR {
			Check(err, "poll the capture")
		}
	}
}

// flow is one direction of one connection: sequence numbers are
// relative to the first one seen in it, as tcpdump counts them.
type flow struct{ from, to netip.AddrPort }

// format prints one segment the way tcpdump does (print-tcp.c), with
// roles for addresses, relative sequence numbers and no window (unless
// asked for: see [Scene.ShowWindow]) or options, which vary from run
// to run.
func (c *Capture) format(from, to netip.AddrPort, t *layers.TCP, length int) (string, bool) {
	src, dst := c.roles(from, to)
	if src == "" || dst == "" {
		return "", false
	}
	dir, back := flow{from, to}, flow{to, from}
	if _, ok := c.base[dir]; !ok || t.SYN {
		c.base[dir] = t.Seq
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s > %s: Flags [%s]", src, dst, flags(t))
	if length > 0 || t.SYN || t.FIN || t.RST {
		seq := t.Seq - c.base[dir]
		fmt.Fprintf(&b, ", seq %d", seq)
		if length > 0 {
			fmt.Fprintf(&b, ":%d", seq+uint32(length))
		}
	}
	if t.ACK {
		fmt.Fprintf(&b, ", ack %d", t.Ack-c.base[back])
	}
	if c.window != "" && src == c.window {
		fmt.Fprintf(&b, ", win %d", t.Window)
	}
	fmt.Fprintf(&b, ", length %d", length)
	return b.String(), true
}

// flags are tcpdump's letters, in tcpdump's order.
func flags(t *layers.TCP) string {
	var s string
	for _, f := range []struct {
		on     bool
		letter string
	}{{t.FIN, "F"}, {t.SYN, "S"}, {t.RST, "R"}, {t.PSH, "P"}, {t.ACK, "."}, {t.URG, "U"}, {t.ECE, "E"}, {t.CWR, "W"}} {
		if f.on {
			s += f.letter
		}
	}
	if s == "" {
		return "none"
	}
	return s
}
