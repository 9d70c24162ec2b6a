package edge

import (
	"fmt"
	"math"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// timerNames are the timers sock_diag reports in idiag_timer
// (inet_sk_diag_fill; for a timewait socket tcp_twsk_diag_fill, in
// net/ipv4/tcp_diag.c since 6.18), by the names ss prints.
var timerNames = [...]string{
	0: "off",
	1: "on", // retransmission (or the loss probe, or the reorder timer)
	2: "keepalive",
	3: "timewait",
	4: "persist", // zero-window probe
}

// Diag is the kernel's sock_diag record of this end's connection
// (state, timer, queues), whether or not the program still holds the
// socket, or nil when the kernel has none.
func (e *End) Diag() *netlink.Socket {
	s, err := Diag(e.diag, e.local, e.remote)
	Check(err, e.Name)
	return s
}

// Timer says which timer the kernel runs for this end's connection and
// when it fires, as ss -o does, rounded up to whole seconds so that the
// output does not change from run to run: "timewait, 60 s". A
// connection the kernel no longer knows has "no timer".
func (e *End) Timer() string {
	s := e.Diag()
	if s == nil {
		return "no timer"
	}
	name := fmt.Sprintf("timer(%d)", s.Timer)
	if int(s.Timer) < len(timerNames) {
		name = timerNames[s.Timer]
	}
	if s.Timer == 0 {
		return name
	}
	left := time.Duration(s.Expires) * time.Millisecond
	return fmt.Sprintf("%s, %d s", name, int(math.Ceil(left.Seconds())))
}

// Wire is a veth cable between two hosts, 192.0.2.1/24 on the first
// and 192.0.2.2/24 on the second, each end named eth0, on which a
// host's packets to the other end can be held back and let go at a
// moment the program chooses: the simultaneous close needs two FINs
// that cross, which loopback never lets happen.
//
// The hold is the kernel's own queue of packets waiting for the
// address resolution of their next hop (a neighbour entry's
// arp_queue). The hosts never answer ARP (arp_ignore=8), so their
// neighbour entries are set by hand: [Wire.Hold] deletes one, and
// what the host sends next waits for an answer that never comes;
// [Wire.Release] sets it again, and the kernel sends what waited, in
// order (__neigh_update).
type Wire struct {
	ends [2]wireEnd
}

type wireEnd struct {
	h    *Host
	link netlink.Link
	ip   net.IP
	mac  net.HardwareAddr
}

// NewWire joins a and b with a veth pair.
func NewWire(a, b *Host) *Wire {
	w := &Wire{ends: [2]wireEnd{
		{h: a, ip: net.IPv4(192, 0, 2, 1).To4()},
		{h: b, ip: net.IPv4(192, 0, 2, 2).To4()},
	}}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "eth0"
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(b.ns)}
	Check(a.nl.LinkAdd(veth), "add a veth pair between "+a.Name+" and "+b.Name)
	for i := range w.ends {
		e := &w.ends[i]
		link, err := e.h.nl.LinkByName("eth0")
		Check(err, e.h.Name+": find eth0")
		e.link, e.mac = link, link.Attrs().HardwareAddr
		// Answer no ARP request, and give up on an unanswered one only
		// after 3 x 60 s: a held packet stays held.
		e.h.Sysctl("net.ipv4.conf.eth0.arp_ignore", "8")
		e.h.Sysctl("net.ipv4.neigh.eth0.retrans_time_ms", "60000")
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: e.ip, Mask: net.CIDRMask(24, 32)}}
		Check(e.h.nl.AddrAdd(link, addr), e.h.Name+": add "+addr.String())
		Check(e.h.nl.LinkSetUp(link), e.h.Name+": set eth0 up")
	}
	w.Release(a)
	w.Release(b)
	return w
}

// IP is the address of h's end of the wire.
func (w *Wire) IP(h *Host) net.IP { return w.end(h, false).ip }

func (w *Wire) end(h *Host, other bool) *wireEnd {
	for i := range w.ends {
		if (w.ends[i].h == h) != other {
			return &w.ends[i]
		}
	}
	Fatalf("host %s is not on the wire", h.Name)
	return nil
}

func (w *Wire) neigh(h *Host) *netlink.Neigh {
	me, peer := w.end(h, false), w.end(h, true)
	return &netlink.Neigh{
		LinkIndex:    me.link.Attrs().Index,
		Family:       netlink.FAMILY_V4,
		State:        netlink.NUD_PERMANENT,
		IP:           peer.ip,
		HardwareAddr: peer.mac,
	}
}

// Hold makes the packets h sends to the other end wait in h's kernel.
func (w *Wire) Hold(h *Host) {
	Check(h.nl.NeighDel(w.neigh(h)), h.Name+": delete the neighbour entry")
}

// Release lets h's held packets go, and those it sends after them.
func (w *Wire) Release(h *Host) {
	Check(h.nl.NeighSet(w.neigh(h)), h.Name+": set the neighbour entry")
}

// Drop makes h drop, from now on, what it routes to the other end (a
// blackhole route); packets already held are not routed again, and
// still go on Release. Drop(h, false) removes the route.
func (w *Wire) Drop(h *Host, drop bool) {
	peer := w.end(h, true)
	r := &netlink.Route{
		Dst:  &net.IPNet{IP: peer.ip, Mask: net.CIDRMask(32, 32)},
		Type: unix.RTN_BLACKHOLE,
	}
	if drop {
		Check(h.nl.RouteAdd(r), h.Name+": add a blackhole route")
	} else {
		Check(h.nl.RouteDel(r), h.Name+": delete the blackhole route")
	}
}
