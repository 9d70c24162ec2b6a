package edge

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Lab is three hosts in a line, each in a network namespace of its
// own, joined by veth pairs, with documentation addresses:
//
//	client 192.0.2.1 ── 192.0.2.254 router 198.51.100.254 ── 198.51.100.1 server
//
// The router forwards (ip_forward=1, set inside it); the client and the
// server route everything through it. Nothing is created in the
// program's own namespace: each veth pair is made inside one host with
// its peer placed straight into the other, and goes away with them.
type Lab struct {
	Client, Router, Server *Host
	ClientAddr, ServerAddr netip.Addr
}

// Documentation addresses (RFC 5737) of the lab.
var (
	labClient       = netip.MustParsePrefix("192.0.2.1/24")
	labRouterClient = netip.MustParsePrefix("192.0.2.254/24")
	labRouterServer = netip.MustParsePrefix("198.51.100.254/24")
	labServer       = netip.MustParsePrefix("198.51.100.1/24")
	everywhere      = netip.MustParsePrefix("0.0.0.0/0")
)

// NewLab builds the lab.
func NewLab() *Lab {
	l := &Lab{
		Client: NewHost("client"), Router: NewHost("router"), Server: NewHost("server"),
		ClientAddr: labClient.Addr(), ServerAddr: labServer.Addr(),
	}
	Connect(l.Client, labClient, l.Router, labRouterClient)
	Connect(l.Server, labServer, l.Router, labRouterServer)
	l.Router.Sysctl("net.ipv4.ip_forward", "1")
	// A router sends at most about one ICMP error a second to a host
	// (net.ipv4.icmp_ratelimit, 1000 ms, with a small burst, for the
	// types in net.ipv4.icmp_ratemask): limit no type, so that what the
	// client sees does not depend on what came before. Only ip_error()
	// (route.c) still limits the errors of an unreachable or prohibit
	// route itself: 5 at once, then one a second (net.ipv4.route.
	// error_burst, error_cost). icmp_ratelimit=0 would not do: its
	// bucket is ip_error()'s, which inet_peer_xrlim_allow() caps at
	// 6 x icmp_ratelimit, emptying it with a limit of 0: one error a
	// second from the first. Before Linux 6.14 it did so on every ICMP;
	// since ("inetpeer: avoid false sharing in inet_peer_xrlim_allow()"),
	// only when a jiffy ends between ip_error() and the ICMP.
	l.Router.Sysctl("net.ipv4.icmp_ratemask", "0")
	l.Client.AddRoute(everywhere, labRouterClient.Addr())
	l.Server.AddRoute(everywhere, labRouterServer.Addr())
	l.waitForWires()
	return l
}

// waitForWires returns once a datagram has gone from the client to the
// server and back.
//
// A link set up is not ready at once: the kernel attaches its queue
// from a workqueue (linkwatch, dev_activate) a moment later, and until
// then drops what is sent through it. A SYN lost that way is resent
// after 1 s, and the connection then starts with a 3 s RTO (RFC 6298
// 5.7): every timing in an example would change. Nothing reports the
// moment the queue is attached, so this sends a datagram every few
// milliseconds until one makes the round trip, which also resolves
// every hop's neighbour (ARP) before the example starts.
func (l *Lab) waitForWires() {
	var cli, srv int
	l.Client.Do(func() { cli = udpSocket(netip.AddrPortFrom(l.ClientAddr, 0)) })
	l.Server.Do(func() { srv = udpSocket(netip.AddrPortFrom(l.ServerAddr, 0)) })
	defer unix.Close(cli)
	defer unix.Close(srv)
	to, err := unix.Getsockname(srv)
	Check(err, "getsockname")
	buf := make([]byte, 16)
	deadline := time.Now().Add(Timeout)
	for wait := 5; ; wait = min(2*wait, 100) {
		Check(unix.Sendto(cli, []byte("probe"), 0, to), "send a probe")
		if readable(srv, wait) {
			_, from, err := unix.Recvfrom(srv, buf, 0)
			Check(err, "receive a probe")
			Check(unix.Sendto(srv, []byte("reply"), 0, from), "answer a probe")
			if readable(cli, wait) {
				return
			}
		}
		if time.Now().After(deadline) {
			Fatalf("the lab's links carried no datagram from client to server and back within %v", Timeout)
		}
	}
}

func udpSocket(local netip.AddrPort) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	Check(err, "socket")
	Check(unix.Bind(fd, &unix.SockaddrInet4{Addr: local.Addr().As4(), Port: int(local.Port())}), "bind "+local.String())
	return fd
}

// readable waits up to ms milliseconds for fd to have data.
func readable(fd, ms int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, ms)
	if err == unix.EINTR {
		return false
	}
	Check(err, "poll")
	return n > 0
}

// Connect joins hosts a and b with a veth pair, named eth0 in a and
// eth0, eth1... in b (the next free name), with the addresses given,
// both up.
func Connect(a *Host, aAddr netip.Prefix, b *Host, bAddr netip.Prefix) {
	bName := b.nextEth()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: a.nextEth()},
		PeerName:      bName,
		PeerNamespace: netlink.NsFd(int(b.ns)),
	}
	Check(a.nl.LinkAdd(veth), a.Name+": add veth to "+b.Name)
	a.setUp(veth.Name, aAddr)
	b.setUp(bName, bAddr)
}

// nextEth is the first name eth0, eth1... no link in h has.
func (h *Host) nextEth() string {
	for i := 0; ; i++ {
		name := fmt.Sprintf("eth%d", i)
		if _, err := h.nl.LinkByName(name); err != nil {
			return name
		}
	}
}

func (h *Host) setUp(name string, addr netip.Prefix) {
	link, err := h.nl.LinkByName(name)
	Check(err, h.Name+": find "+name)
	a := &netlink.Addr{IPNet: ipNet(addr)}
	Check(h.nl.AddrAdd(link, a), h.Name+": address "+addr.String())
	Check(h.nl.LinkSetUp(link), h.Name+": set "+name+" up")
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// AddRoute routes dst through the gateway via.
func (h *Host) AddRoute(dst netip.Prefix, via netip.Addr) {
	r := &netlink.Route{Dst: ipNet(dst), Gw: via.AsSlice()}
	Check(h.nl.RouteAdd(r), h.Name+": route "+dst.String()+" via "+via.String())
}

// DelRoute removes the route to dst (exactly that prefix).
func (h *Host) DelRoute(dst netip.Prefix) {
	routes, err := h.nl.RouteListFiltered(unix.AF_INET, &netlink.Route{Dst: ipNet(dst), Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	Check(err, h.Name+": list routes to "+dst.String())
	if len(routes) == 0 {
		Fatalf("%s: no route to %s to remove", h.Name, dst)
	}
	for _, r := range routes {
		Check(h.nl.RouteDel(&r), h.Name+": remove route to "+dst.String())
	}
}

// RouteType adds a route to dst of a type that forwards nothing:
//
//   - unix.RTN_BLACKHOLE: drop, silently;
//   - unix.RTN_UNREACHABLE: drop, answer ICMP "host unreachable";
//   - unix.RTN_PROHIBIT: drop, answer ICMP "administratively prohibited".
func (h *Host) RouteType(dst netip.Prefix, typ int) {
	r := &netlink.Route{Dst: ipNet(dst), Type: typ}
	Check(h.nl.RouteAdd(r), h.Name+": route "+dst.String())
}

// SetLink sets the host's interface name up or down.
func (h *Host) SetLink(name string, up bool) {
	link, err := h.nl.LinkByName(name)
	Check(err, h.Name+": find "+name)
	if up {
		Check(h.nl.LinkSetUp(link), h.Name+": set "+name+" up")
	} else {
		Check(h.nl.LinkSetDown(link), h.Name+": set "+name+" down")
	}
}

// Crash makes the server vanish: its interface goes dead, so it sends
// nothing, and the router drops silently what comes for it, so
// nothing answers (a blackhole route, not the router's link going
// down: without a link the router would answer ICMP "unreachable",
// which a crashed host behind it does not make happen at once). Its
// sockets stay as they were, frozen.
func (l *Lab) Crash() {
	l.Server.SetLink("eth0", false)
	l.Router.RouteType(netip.PrefixFrom(l.ServerAddr, 32), unix.RTN_BLACKHOLE)
}

// Reboot brings a crashed server back without its connections: each
// socket in socks is closed without sending anything, as if its memory
// was lost, then the server's interface comes up, it routes through
// the router again, and the router forwards to it again.
func (l *Lab) Reboot(socks ...*End) {
	for _, e := range socks {
		Forget(e.FD)
		e.TCPConn.Close()
	}
	l.Server.SetLink("eth0", true)
	// A link going down takes its routes with it.
	l.Server.AddRoute(everywhere, labRouterServer.Addr())
	l.Router.DelRoute(netip.PrefixFrom(l.ServerAddr, 32))
	l.waitForWires()
}

// holderEnv marks the child process [KillHolder] starts.
const holderEnv = "TCPEDGES_HOLDER"

func init() {
	if os.Getenv(holderEnv) == "1" {
		// The child: hold the inherited descriptors until killed.
		for {
			unix.Pause()
		}
	}
}

// KillHolder hands the ends' sockets to a process of their own, closes
// the program's descriptors for them, and kills that process with
// SIGKILL. The kernel closes a dying process's descriptors (do_exit,
// exit_files), so what the sockets do is what a server process does
// when it is killed. It returns once the process is gone.
func KillHolder(ends ...*End) {
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), holderEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	for _, e := range ends {
		f, err := e.File() // a duplicate of the descriptor
		Check(err, e.Name+": descriptor")
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	Check(cmd.Start(), "start the process holding the sockets")
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	for _, e := range ends {
		e.TCPConn.Close()
	}
	Check(cmd.Process.Kill(), "kill the process holding the sockets")
	cmd.Wait()
}

// Forget makes the kernel drop a connection without a word: in repair
// mode (TCP_REPAIR, made for checkpoint and restore) close sends
// neither FIN nor RST. The descriptor still has to be closed.
func Forget(fd int) {
	Check(unix.SetsockoptInt(fd, unix.SOL_TCP, unix.TCP_REPAIR, 1), "setsockopt TCP_REPAIR")
}

// WaitInfo asks TCP_INFO of fd until cond holds, for at most wait,
// and returns what the kernel reported last. what says what it waits
// for, when it does not come.
func WaitInfo(fd int, wait time.Duration, what string, cond func(*unix.TCPInfo) bool) *unix.TCPInfo {
	var info *unix.TCPInfo
	pollFor(wait, what, func() (bool, string) {
		var err error
		info, err = unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		Check(err, "getsockopt TCP_INFO")
		return cond(info), fmt.Sprintf("it is %s (retransmits %d, backoff %d, rto %d, unacked %d, total %d, probes %d)",
			StateName(info.State), info.Retransmits, info.Backoff, info.Rto, info.Unacked, info.Total_retrans, info.Probes)
	})
	return info
}

// Counter returns one of the kernel's counters inside the host, by
// the name nstat prints: "TcpExtTCPLossProbes" (/proc/net/netstat),
// "IcmpInDestUnreachs" (/proc/net/snmp).
func (h *Host) Counter(name string) int {
	n := -1
	h.Do(func() {
		// /proc/thread-self/net is this thread's namespace; /proc/net
		// would be the process's.
		for _, file := range []string{"/proc/thread-self/net/netstat", "/proc/thread-self/net/snmp"} {
			data, err := os.ReadFile(file)
			Check(err, h.Name+": read "+file)
			lines := strings.Split(string(data), "\n")
			for i := 0; i+1 < len(lines); i += 2 {
				keys, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
				if len(keys) != len(values) || len(keys) == 0 {
					continue
				}
				prefix := strings.TrimSuffix(keys[0], ":")
				for j := 1; j < len(keys); j++ {
					if prefix+keys[j] == name {
						n, err = strconv.Atoi(values[j])
						Check(err, h.Name+": counter "+name)
					}
				}
			}
		}
	})
	if n < 0 {
		Fatalf("%s: no counter %s", h.Name, name)
	}
	return n
}

// hostNames names the lab's addresses by host.
func (l *Lab) hostNames(a netip.Addr) string {
	switch a {
	case labClient.Addr():
		return "client"
	case labServer.Addr():
		return "server"
	case labRouterClient.Addr(), labRouterServer.Addr():
		return "router"
	}
	if labClient.Masked().Contains(a) || labServer.Masked().Contains(a) {
		return a.String() // an address no host of the lab has
	}
	return ""
}

// NewScene starts a scene in the client, with its capture on the
// client's interface (the wire to the router), showing ICMP errors
// too. Its Listen and Accept work in the server, its Dial in the
// client.
func (l *Lab) NewScene() *Scene {
	var s *Scene
	l.Client.Do(func() {
		diag, err := netlink.NewHandle(unix.NETLINK_INET_DIAG)
		Check(err, "open sock_diag")
		s = &Scene{diag: diag, names: map[netip.AddrPort]string{}, conns: map[flow]string{}, lab: l}
		s.capture, err = newCapture("eth0", s.roles)
		Check(err, "start the capture on the client's eth0")
		s.capture.Hosts = l.hostNames
	})
	l.Server.Do(func() {
		var err error
		s.serverDiag, err = netlink.NewHandle(unix.NETLINK_INET_DIAG)
		Check(err, "open sock_diag in the server")
	})
	return s
}

// listenIn listens in the server host on its address.
func (s *Scene) listenIn(role string) *net.TCPListener {
	var ln net.Listener
	s.lab.Server.Do(func() {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(s.lab.ServerAddr, 0).String())
		Check(err, "listen in the server")
	})
	s.Name(ln.Addr(), role)
	return ln.(*net.TCPListener)
}

// Pair connects the lab's client to its server: the client end lives
// in the client host, the server end in the server host, and the
// capture sees their segments on the client's wire.
func (l *Lab) Pair() *Pair {
	s := l.NewScene()
	p := &Pair{Scene: s}
	ln := s.Listen("server")
	defer ln.Close()
	p.Client = s.Dial("client", ln.Addr())
	p.Server = s.Accept(ln, "server")
	return p
}

// ClientSocket makes a TCP socket in the client host, bound to the
// client's address on a port the kernel picks, and names it "client"
// in the scene, so that the capture knows it before its first SYN. A
// socket stays in the namespace it was made in: the example can call
// connect(2) on it from anywhere.
func (l *Lab) ClientSocket(s *Scene) int {
	var fd int
	l.Client.Do(func() {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		Check(err, "client: socket")
		Check(unix.Bind(fd, &unix.SockaddrInet4{Addr: l.ClientAddr.As4()}), "client: bind")
	})
	sa, err := unix.Getsockname(fd)
	Check(err, "client: getsockname")
	port := sa.(*unix.SockaddrInet4).Port
	s.Name(net.TCPAddrFromAddrPort(netip.AddrPortFrom(l.ClientAddr, uint16(port))), "client")
	return fd
}
