package edge

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Middlebox is a stateful firewall on the lab's router, as a cloud
// firewall, NAT gateway or load balancer is one: it forwards a TCP
// segment only if it belongs to a connection it tracks, and it forgets
// a connection that stayed idle longer than its timeout.
//
// It is the kernel's own connection tracking (conntrack), which the
// rules make the router run, and an nftables rule set built with
// github.com/google/nftables; in nft's syntax:
//
//	table ip middlebox {
//		chain forward {
//			type filter hook forward priority filter; policy drop;
//			ct state established,related accept
//			meta l4proto tcp ct state invalid counter drop   # or: reject with tcp reset
//			ip daddr 198.51.100.1 tcp flags & (fin|syn|rst|ack) == syn ct state new accept
//		}
//	}
//
// and two sysctls of the router's namespace: the timeout of an
// established flow (net.netfilter.nf_conntrack_tcp_timeout_established,
// 5 days by default) and net.netfilter.nf_conntrack_tcp_loose=0, which
// stops conntrack from picking up a connection in its middle (see
// [Lab.NewMiddlebox]).
type Middlebox struct {
	lab   *Lab
	ct    *netlink.Handle // conntrack, in the router
	table *nftables.Table
	chain *nftables.Chain
}

// Forgotten is what a middlebox does with a segment of a flow it no
// longer tracks.
type Forgotten int

const (
	// Drop drops it without a word.
	Drop Forgotten = iota
	// Reset drops it and answers the sender with an RST, forged in the
	// name of the segment's destination (nft's reject with tcp reset).
	Reset
)

// NewMiddlebox makes the lab's router a stateful firewall that forgets
// an established flow idle for timeout (whole seconds), and does with
// the segments of a forgotten flow what forgotten says. The client may
// open connections to the server; nothing else is forwarded.
//
// With nf_conntrack_tcp_loose at its default, 1, conntrack would take
// any segment of a flow it does not know (an ACK, data) for the start
// of a new one, in state "new", and the rule set above would still
// drop it, by its policy, since it is not a SYN. With 0, as set here,
// conntrack does not track such a segment at all, and nftables calls
// it "invalid": the rule that drops (or rejects) it counts it.
func (l *Lab) NewMiddlebox(timeout time.Duration, forgotten Forgotten) *Middlebox {
	if timeout%time.Second != 0 || timeout <= 0 {
		Fatalf("a conntrack timeout is whole seconds, not %v", timeout)
	}
	m := &Middlebox{lab: l}
	var err error
	m.ct, err = netlink.NewHandleAt(l.Router.ns, unix.NETLINK_NETFILTER)
	Check(err, "router: open conntrack's netlink")
	// The rules: each call opens a netlink socket in the router's
	// namespace, sends and closes it.
	nft, err := nftables.New(nftables.WithNetNSFd(int(l.Router.ns)))
	Check(err, "router: nftables")
	m.table = nft.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "middlebox"})
	drop := nftables.ChainPolicyDrop
	m.chain = nft.AddChain(&nftables.Chain{
		Name: "forward", Table: m.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop,
	})
	rule := func(exprs ...expr.Any) { nft.AddRule(&nftables.Rule{Table: m.table, Chain: m.chain, Exprs: exprs}) }
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	// ct state established,related accept
	rule(append(ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), accept)...)
	// meta l4proto tcp ct state invalid counter drop (or reject with tcp reset)
	verdict := expr.Any(&expr.Verdict{Kind: expr.VerdictDrop})
	if forgotten == Reset {
		verdict = &expr.Reject{Type: unix.NFT_REJECT_TCP_RST}
	}
	rule(append(append(isTCP(), ctState(expr.CtStateBitINVALID)...), &expr.Counter{}, verdict)...)
	// ip daddr 198.51.100.1 tcp flags & (fin|syn|rst|ack) == syn ct state new accept
	server := l.ServerAddr.As4()
	rule(append(append(isTCP(),
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: server[:]},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 1, Mask: []byte{0x17}, Xor: []byte{0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x02}},
	), append(ctState(expr.CtStateBitNEW), accept)...)...)
	Check(nft.Flush(), "router: add the nftables rules")
	// The rules made the router's namespace use conntrack (which loads
	// its module where it is one): its sysctls exist from here on.
	l.Router.Sysctl("net.netfilter.nf_conntrack_tcp_timeout_established", strconv.Itoa(int(timeout/time.Second)))
	l.Router.Sysctl("net.netfilter.nf_conntrack_tcp_loose", "0")
	AtExit(m.Close)
	return m
}

// ctState matches the packet's conntrack state against the bits.
func ctState(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
	}
}

func isTCP() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
	}
}

// Close lets go of the router's conntrack socket. The rules go with
// the router.
func (m *Middlebox) Close() {
	if m.ct != nil {
		m.ct.Close()
		m.ct = nil
	}
}

// conntrackStates names conntrack's TCP states (enum tcp_conntrack).
var conntrackStates = []string{"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"}

// Flow is the router's conntrack entry for the connection of e (an end
// in the client), as conntrack -L shows it: its TCP state, or "none"
// when the router does not track it. An entry whose timeout has passed
// is not listed: the kernel skips (and removes) it as it dumps the
// table (ctnetlink_dump_table, nf_ct_is_expired).
func (m *Middlebox) Flow(e *End) string {
	local, remote := e.LocalAddr().(*net.TCPAddr), e.RemoteAddr().(*net.TCPAddr)
	flows, err := m.ct.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
	Check(err, "router: list the conntrack table")
	for _, f := range flows {
		if f.Forward.Protocol == unix.IPPROTO_TCP &&
			f.Forward.SrcIP.Equal(local.IP) && int(f.Forward.SrcPort) == local.Port &&
			f.Forward.DstIP.Equal(remote.IP) && int(f.Forward.DstPort) == remote.Port {
			if tcp, ok := f.ProtoInfo.(*netlink.ProtoInfoTCP); ok && int(tcp.State) < len(conntrackStates) {
				return conntrackStates[tcp.State]
			}
			return "tracked"
		}
	}
	return "none"
}

// WaitForgotten waits, for at most wait, until the router no longer
// tracks the connection of e. Conntrack sends no event when an entry's
// timeout passes (the entry is removed later, when a lookup, a dump or
// its garbage collector finds it expired), so this asks the table,
// as [WaitInfo] asks TCP_INFO.
func (m *Middlebox) WaitForgotten(e *End, wait time.Duration) {
	pollFor(wait, "the router to forget "+e.Name+"'s connection", func() (bool, string) {
		state := m.Flow(e)
		return state == "none", fmt.Sprintf("its conntrack entry is %s", state)
	})
}

// Forgotten counts the segments the router dropped, or answered with an
// RST, because they belonged to no flow it tracks: the counter of the
// rule that matches "ct state invalid".
func (m *Middlebox) Forgotten() uint64 {
	nft, err := nftables.New(nftables.WithNetNSFd(int(m.lab.Router.ns)))
	Check(err, "router: nftables")
	rules, err := nft.GetRules(m.table, m.chain)
	Check(err, "router: list the nftables rules")
	for _, r := range rules {
		for _, e := range r.Exprs {
			if c, ok := e.(*expr.Counter); ok {
				return c.Packets
			}
		}
	}
	Fatalf("router: the rule for invalid segments has no counter")
	return 0
}
