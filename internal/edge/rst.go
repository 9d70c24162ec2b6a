package edge

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// WaitRemoteState waits until the socket at the other end of e, on
// this host, is in one of the given states, as sock_diag reports it.
// That socket may belong to no process of ours, or to no process at
// all: the orphan a process left behind when it exited.
func (e *End) WaitRemoteState(states ...string) {
	what := fmt.Sprintf("the peer of %s to reach %s", e.Name, strings.Join(states, " or "))
	poll(what, func() (bool, string) {
		s, err := DiagState(e.diag, e.remote, e.local)
		Check(err, e.Name+": the peer's state")
		for _, want := range states {
			if s == want {
				return true, ""
			}
		}
		return false, "it is " + s
	})
}

// rstCounters are the kernel's counters (nstat's names) that move
// when an RST is sent or a connection is aborted: Tcp.OutRsts counts
// every RST sent, and each TcpExt counter one reason, as in
// include/net/rstreason.h.
var rstCounters = []string{
	"Tcp.OutRsts",
	"TcpExt.TCPAbortOnClose",
	"TcpExt.TCPAbortOnData",
	"TcpExt.TCPAbortOnLinger",
	"TcpExt.TCPAbortOnMemory",
	"TcpExt.TCPAbortOnTimeout",
	"TcpExt.EmbryonicRsts",
	"TcpExt.ListenOverflows",
	"TcpExt.ListenDrops",
}

// Counters is a snapshot of the network namespace's RST counters.
type Counters map[string]int64

// ReadCounters reads the RST counters of the network namespace of the
// calling thread (inside [Host.Do], the host's) from
// /proc/thread-self/net/snmp and netstat. They count for the whole
// namespace, so they tell one example's story only in a host of its
// own.
func ReadCounters() Counters {
	c := Counters{}
	for _, file := range []string{"snmp", "netstat"} {
		data, err := os.ReadFile("/proc/thread-self/net/" + file)
		Check(err, "read the counters")
		// Lines come in pairs: "Tcp: Name1 Name2", "Tcp: 1 2".
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		for i := 0; i+1 < len(lines); i += 2 {
			names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
			group := strings.TrimSuffix(names[0], ":")
			for j := 1; j < len(names) && j < len(values); j++ {
				v, err := strconv.ParseInt(values[j], 10, 64)
				if err == nil {
					c[group+"."+names[j]] = v
				}
			}
		}
	}
	return c
}

// Since names the RST counters that moved from before to c, and by
// how much: "Tcp.OutRsts +1, TcpExt.TCPAbortOnClose +1", or "none".
func (c Counters) Since(before Counters) string {
	var moved []string
	for _, name := range rstCounters {
		if d := c[name] - before[name]; d != 0 {
			moved = append(moved, fmt.Sprintf("%s %+d", name, d))
		}
	}
	if len(moved) == 0 {
		return "none"
	}
	return strings.Join(moved, ", ")
}
