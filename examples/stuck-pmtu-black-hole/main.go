// Stuck-pmtu-black-hole proves what a path MTU black hole does: the
// router's link to the server carries at most 1280 bytes, and the
// router's ICMP "fragmentation needed" is dropped by a firewall (an
// nftables rule). The handshake and small writes pass; a full-size
// segment is resent, unchanged, until the connection times out.
// With ICMP allowed, path MTU discovery shrinks the segments at once;
// with net.ipv4.tcp_mtu_probing=1 the kernel shrinks them after it
// detects the black hole from its retransmission timeouts, and with 2
// it sends small segments from the start.
package main

import (
	"bytes"
	"fmt"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

//tcpedges:wait 3200ms retransmissions of a full-size segment, twice 1.6 s: a tail loss probe, then RTOs of 0.2, 0.4, 0.8 s (tcp_retries1=1 in the client)
func main() {
	edge.ParseFlags()

	edge.Println("# ICMP allowed: path MTU discovery; net.ipv4.tcp_retries1 = 1 in the client, in every part")
	lab := newLab(false, "0")
	p := lab.Pair()
	printMSS(p)
	//tcpedges:show
	edge.Println("client: write(1448 bytes)")
	n, err := unix.Write(p.Client.FD, bytes.Repeat([]byte("x"), 1448))
	waitDelivered(p, time.Second)
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	printMSS(p)
	//tcpedges:end
	p.Close()
	lab.Close()

	// A lab of its own for the black hole: the client of the first
	// remembers the path MTU it was told (for 10 minutes,
	// net.ipv4.route.mtu_expires).
	edge.Println(`# ICMP "need to frag" dropped by the router: a black hole`)
	lab = newLab(true, "0")
	defer lab.Close()
	p = lab.Pair()
	printMSS(p)
	//tcpedges:show
	edge.Println(`client: write("hello")`)
	n, err = unix.Write(p.Client.FD, []byte("hello"))
	waitDelivered(p, time.Second)
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	edge.Println("client: write(1448 bytes)")
	n, err = unix.Write(p.Client.FD, bytes.Repeat([]byte("x"), 1448))
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	retransmissions(p)
	// The default: the same segment, resent with a doubling timeout,
	// until tcp_retries2 ends the connection (about 15 minutes).
	p.PrintSegmentsAndStop(0, time.Second)
	info := tcpInfo(p)
	edge.Printf("client: MSS %d, retransmission timeouts %d, unacknowledged %d segment\n",
		info.Snd_mss, info.Retransmits, info.Unacked)
	// One ICMP error for each copy sent: the last may still be on its
	// way through the router when the capture has shown the copy.
	var dropped uint64
	edge.Await(time.Second, "the router to drop an ICMP error for each copy", func() (bool, string) {
		dropped = lab.dropped()
		return dropped == uint64(info.Total_retrans)+1, fmt.Sprintf("it dropped %d for %d copies", dropped, info.Total_retrans+1)
	})
	edge.Printf("router: ICMP \"need to frag\" dropped: %d\n", dropped)
	//tcpedges:end
	// Not to leave an orphan retransmitting: an RST, not shown.
	edge.Println("client: conn.SetLinger(0); conn.Close() (segments not shown)")
	check(p.Client.SetLinger(0))
	p.Close()

	edge.Println("# the same black hole, net.ipv4.tcp_mtu_probing = 1 in the client")
	lab.Client.Sysctl("net.ipv4.tcp_mtu_probing", "1")
	p = lab.Pair()
	//tcpedges:show
	edge.Println("client: write(1448 bytes)")
	start := time.Now()
	n, err = unix.Write(p.Client.FD, bytes.Repeat([]byte("x"), 1448))
	edge.Printf("client: write() = %s\n", edge.Ret(n, err))
	retransmissions(p)
	waitDelivered(p, 3*time.Second)
	elapsed := time.Since(start)
	printMSS(p)
	edge.Printf("router: ICMP \"need to frag\" dropped: %d\n", lab.dropped()-dropped)
	//tcpedges:end
	// The timeouts' pauses above add up to 1.6 s. A lower bound only:
	// a program starved of CPU can look late.
	edge.Printf("client: delivered after more than 1.5 s: %v\n", elapsed > 1500*time.Millisecond)
	p.Close()

	edge.Println("# net.ipv4.tcp_mtu_probing = 2 in the client")
	// Read when a connection starts (tcp_mtup_init).
	lab.Client.Sysctl("net.ipv4.tcp_mtu_probing", "2")
	p = lab.Pair()
	// With 2, the connection starts at the MSS of tcp_base_mss (1024),
	// below the path's, whatever the SYNs announced. The segments of a
	// write are not shown: whether the server's ACK of the first
	// crosses the second on the wire depends on how the machine
	// schedules its network processing.
	//tcpedges:show
	printMSS(p)
	//tcpedges:end
	p.Close()
}

// lab is the edge lab with a narrow link between the router and the
// server, and maybe a rule on the router that drops its ICMP errors
// "fragmentation needed".
type lab struct {
	*edge.Lab
	nft  *nftables.Conn
	rule *nftables.Rule
}

func newLab(drop bool, probing string) *lab {
	l := &lab{Lab: edge.NewLab()}
	// The router's link to the server: at most 1280 bytes a packet, as
	// on a tunnel. Its peer, the server's side, stays at 1500, so both
	// ends announce the MSS of a 1500-byte MTU in their SYNs.
	l.Router.SetMTU("eth1", 1280)
	l.Client.OneSegmentPerPacket("eth0")
	// Only inside the client host. tcp_mtu_probing: 0, the default,
	// never; 1, after a black hole is detected; 2, always.
	// tcp_retries1: the black hole is detected when the timeouts since
	// the first retransmission reach what tcp_retries1 retransmissions
	// would take: 3 by default (3 s at an RTO of 0.2 s), 1 here (0.6 s).
	l.Client.Sysctl("net.ipv4.tcp_mtu_probing", probing)
	l.Client.Sysctl("net.ipv4.tcp_retries1", "1")
	if drop {
		l.Router.Do(l.dropFragNeeded)
	}
	return l
}

// dropFragNeeded adds to the host it runs in, as nft would:
//
//	table ip blackhole {
//		chain output {
//			type filter hook output priority filter;
//			icmp type destination-unreachable icmp code frag-needed counter drop
//		}
//	}
//
// An ICMP error a router sends about a packet it forwards is its own
// output: it passes the output hook.
func (l *lab) dropFragNeeded() {
	c, err := nftables.New()
	check(err)
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "blackhole"})
	ch := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter})
	l.rule = c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMP}},
		// The ICMP header's first two bytes: type 3, code 4.
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{3, 4}},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}})
	check(c.Flush())
	l.nft = c
}

// dropped is the rule's packet counter.
func (l *lab) dropped() uint64 {
	var n uint64
	l.Router.Do(func() {
		rules, err := l.nft.GetRules(l.rule.Table, l.rule.Chain)
		check(err)
		for _, e := range rules[0].Exprs {
			if c, ok := e.(*expr.Counter); ok {
				n = c.Packets
			}
		}
	})
	return n
}

// retransmissions prints the resends of the segment just sent: a tail
// loss probe after the RTO (RFC 8985), then the retransmission timer's,
// the RTO doubling each time: 4 in 1.6 s.
func retransmissions(p *edge.Pair) {
	rto := edge.RTO(p.Client.FD)
	p.PrintTimed([]time.Duration{rto, rto, 2 * rto, 4 * rto}, 3*time.Second)
}

// waitDelivered waits until the server has acknowledged all the client
// sent.
func waitDelivered(p *edge.Pair, wait time.Duration) {
	edge.WaitInfo(p.Client.FD, wait, "the server to acknowledge all data", func(i *unix.TCPInfo) bool {
		return i.Unacked == 0 && i.Notsent_bytes == 0
	})
}

// printMSS prints the client's MSS and path MTU as TCP_INFO reports
// them.
func printMSS(p *edge.Pair) {
	i := tcpInfo(p)
	edge.Printf("client: MSS %d (tcpi_snd_mss), path MTU %d (tcpi_pmtu)\n", i.Snd_mss, i.Pmtu)
}

func tcpInfo(p *edge.Pair) *unix.TCPInfo {
	i, err := unix.GetsockoptTCPInfo(p.Client.FD, unix.IPPROTO_TCP, unix.TCP_INFO)
	check(err)
	return i
}

// check ends the program on an error, saying where it happened.
func check(err error) { edge.CheckCaller(err) }
