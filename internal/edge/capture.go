package edge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Capture reads the segments of chosen connections off an interface
// with an AF_PACKET ring (which needs root), and prints them like
// tcpdump does, with roles for addresses and relative sequence
// numbers:
//
//	client > server: Flags [F.], seq 6, ack 1, length 0
//
// Nothing is read until [Capture.Segments] asks: the kernel keeps the
// segments in the ring meanwhile.
type Capture struct {
	tp     *afpacket.TPacket
	role   func(netip.AddrPort) string // "" for an endpoint we don't show
	base   map[netip.AddrPort]uint32   // first sequence number of each sender
	marker *net.UDPConn
}

// NewCapture starts capturing on the interface iface. A segment is
// shown when role names both its source and its destination; role is
// asked only when the segments are read, so it may name endpoints that
// did not exist yet when the capture started.
func NewCapture(iface string, role func(netip.AddrPort) string) (*Capture, error) {
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(iface),
		// Version 2 hands over each frame at once; version 3 would hold
		// frames back until a block fills or a 64ms timer fires.
		afpacket.OptTPacketVersion(afpacket.TPacketVersion2),
		afpacket.OptFrameSize(2048), // headers are all we print
		afpacket.OptBlockSize(1<<20),
		afpacket.OptNumBlocks(4),
		afpacket.OptPollTimeout(Timeout),
	)
	if err != nil {
		return nil, err
	}
	// An AF_PACKET socket on lo sees every packet twice: going out
	// and coming back in. Keep the incoming copy, as tcpdump does. It is
	// taken before TCP processes the segment, so once a segment has had
	// its effect (a state change), it is in the ring.
	filter, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
		bpf.RetConstant{Val: 1 << 16},
		bpf.RetConstant{Val: 0},
	})
	if err == nil {
		err = tp.SetBPF(filter)
	}
	if err != nil {
		tp.Close()
		return nil, err
	}
	return &Capture{tp: tp, role: role, base: map[netip.AddrPort]uint32{}}, nil
}

// Close stops the capture.
func (c *Capture) Close() {
	c.tp.Close()
	if c.marker != nil {
		c.marker.Close()
	}
}

// Segments returns the segments captured since the last call.
//
// To know it has them all, it sends a marker datagram through
// loopback and reads up to it: what passed before the marker is in the
// ring before it. Call it once the last segment you want to see has
// had its effect on the receiver (a state change, data to read).
func (c *Capture) Segments() []string {
	if c.marker == nil {
		m, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
		Check(err, "marker socket")
		// Connect it to itself, so nothing else is ever sent anywhere.
		local := m.LocalAddr().(*net.UDPAddr)
		m.Close()
		m, err = net.DialUDP("udp4", local, local)
		Check(err, "marker socket")
		c.marker = m
	}
	_, err := c.marker.Write([]byte("marker"))
	Check(err, "send the capture marker")
	marker := c.marker.LocalAddr().(*net.UDPAddr).AddrPort()

	var lines []string
	deadline := time.Now().Add(Timeout)
	for {
		data, _, err := c.tp.ZeroCopyReadPacketData()
		if errors.Is(err, afpacket.ErrTimeout) || time.Now().After(deadline) {
			Fatalf("capture: the marker did not come back within %v", Timeout)
		}
		Check(err, "capture")
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
		ip, _ := pkt.NetworkLayer().(*layers.IPv4)
		if ip == nil {
			continue
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP)
		dst, _ := netip.AddrFromSlice(ip.DstIP)
		switch l4 := pkt.TransportLayer().(type) {
		case *layers.UDP:
			if netip.AddrPortFrom(src, uint16(l4.SrcPort)) == marker {
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
	}
}

// checkDrops ends the program if the ring overflowed: a capture with a
// hole in it would print a wrong story.
func (c *Capture) checkDrops() {
	st, _, err := c.tp.SocketStats()
	Check(err, "capture statistics")
	if st.Drops() > 0 {
		Fatalf("capture: the kernel dropped %d packets from a full ring", st.Drops())
	}
}

// format prints one segment the way tcpdump does (print-tcp.c), with
// roles for addresses, relative sequence numbers and no window or
// options, which vary from run to run.
func (c *Capture) format(from, to netip.AddrPort, t *layers.TCP, length int) (string, bool) {
	src, dst := c.role(from), c.role(to)
	if src == "" || dst == "" {
		return "", false
	}
	if _, ok := c.base[from]; !ok || t.SYN {
		c.base[from] = t.Seq
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s > %s: Flags [%s]", src, dst, flags(t))
	if length > 0 || t.SYN || t.FIN || t.RST {
		seq := t.Seq - c.base[from]
		fmt.Fprintf(&b, ", seq %d", seq)
		if length > 0 {
			fmt.Fprintf(&b, ":%d", seq+uint32(length))
		}
	}
	if t.ACK {
		fmt.Fprintf(&b, ", ack %d", t.Ack-c.base[to])
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
