package edge

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

// markerType is the EtherType of capture markers: IEEE 802's "local
// experimental" type, which no host handles, so the peer drops them.
const markerType = 0x88b5

// wireMarker sends the frames that mark the end of a capture's read on
// an interface other than lo.
type wireMarker struct {
	fd    int
	to    unix.SockaddrLinklayer
	frame []byte
	n     uint64
}

func newWireMarker(ifi *net.Interface) (*wireMarker, error) {
	// Protocol 0: this socket only sends, and receives nothing.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	m := &wireMarker{fd: fd, to: unix.SockaddrLinklayer{
		Protocol: htons(markerType), Ifindex: ifi.Index, Halen: 6,
		Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}}
	// Ethernet header, then a payload padded to the 46-byte minimum.
	m.frame = make([]byte, 14+46)
	copy(m.frame, m.to.Addr[:6])
	copy(m.frame[6:], ifi.HardwareAddr)
	binary.BigEndian.PutUint16(m.frame[12:], markerType)
	return m, nil
}

// send sends the next marker, numbered so that a late copy of an
// earlier one is not taken for it.
func (m *wireMarker) send() {
	m.n++
	copy(m.frame[14:], fmt.Sprintf("tcp-edges marker %d", m.n))
	Check(unix.Sendto(m.fd, m.frame, 0, &m.to), "send the capture marker")
}

// is reports whether a captured frame is the last marker sent.
func (m *wireMarker) is(frame []byte) bool {
	return len(frame) >= 14+46 &&
		binary.BigEndian.Uint16(frame[12:]) == markerType &&
		bytes.Equal(frame[14:14+46], m.frame[14:])
}

// icmpUnreachable names the codes of ICMP "destination unreachable"
// (RFC 792, RFC 1812) the way tcpdump prints them.
var icmpUnreachable = map[uint8]string{
	layers.ICMPv4CodeNet:                 "net %s unreachable",
	layers.ICMPv4CodeHost:                "host %s unreachable",
	layers.ICMPv4CodeProtocol:            "%s protocol unreachable",
	layers.ICMPv4CodePort:                "%s port unreachable",
	layers.ICMPv4CodeCommAdminProhibited: "host %s unreachable - admin prohibited filter",
}

// formatICMP prints an ICMP error between named hosts about a segment
// between named endpoints:
//
//	router > client: ICMP host server unreachable, for client > server
func (c *Capture) formatICMP(src, dst netip.Addr, icmp *layers.ICMPv4) (string, bool) {
	from, to := c.Hosts(src), c.Hosts(dst)
	if from == "" || to == "" || icmp.TypeCode.Type() != layers.ICMPv4TypeDestinationUnreachable {
		return "", false
	}
	// The error quotes the IP header and at least 8 bytes of the
	// segment: its ports. Its total length is the whole segment's, more
	// than is quoted: gopacket reports that as truncated, to feedback it
	// must be given.
	var ip layers.IPv4
	q := icmp.Payload
	if ip.DecodeFromBytes(q, gopacket.NilDecodeFeedback) != nil || ip.Protocol != layers.IPProtocolTCP || len(q) < int(ip.IHL)*4+4 {
		return "", false
	}
	ports := q[ip.IHL*4:]
	qsrc, _ := netip.AddrFromSlice(ip.SrcIP)
	qdst, _ := netip.AddrFromSlice(ip.DstIP)
	qfrom, qto := c.roles(netip.AddrPortFrom(qsrc, binary.BigEndian.Uint16(ports)),
		netip.AddrPortFrom(qdst, binary.BigEndian.Uint16(ports[2:])))
	if qfrom == "" {
		return "", false
	}
	if qto == "" {
		qto = c.Hosts(qdst)
	}
	format, ok := icmpUnreachable[icmp.TypeCode.Code()]
	if !ok {
		format = "%s unreachable, code " + fmt.Sprint(icmp.TypeCode.Code())
	}
	what := fmt.Sprintf(format, c.Hosts(qdst))
	if icmp.TypeCode.Code() == layers.ICMPv4CodeFragmentationNeeded {
		// RFC 1191: the next hop's MTU is in the low 16 bits of the
		// header's second word, which gopacket names Seq.
		what = fmt.Sprintf("%s unreachable - need to frag (mtu %d)", c.Hosts(qdst), icmp.Seq)
	}
	return fmt.Sprintf("%s > %s: ICMP %s, for %s > %s", from, to, what, qfrom, qto), true
}
