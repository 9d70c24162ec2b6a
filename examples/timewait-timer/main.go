// Timewait-timer proves how long TIME_WAIT lasts on Linux without
// waiting for it: sock_diag reports the timer the kernel runs for the
// connection, 60 s, which is TCP_TIMEWAIT_LEN in include/net/tcp.h. It
// also proves that net.ipv4.tcp_fin_timeout, which many believe sets
// it, does not: set to 5 inside a network namespace this program
// creates, it shortens the orphan's FIN_WAIT2 and leaves TIME_WAIT at
// 60 s.
package main

import (
	"os"
	"strings"
	"time"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()
	h := edge.NewHost("host")
	defer h.Close()
	edge.Printf("inside the host: net.ipv4.tcp_fin_timeout = %s (the default)\n", finTimeout(h))
	//tcpedges:show
	h.Sysctl("net.ipv4.tcp_fin_timeout", "5")
	edge.Printf("inside the host: net.ipv4.tcp_fin_timeout = %s\n", finTimeout(h))
	//tcpedges:end

	h.Do(func() {
		p := edge.NewPair()
		defer p.Close()
		edge.Println("connected")

		//tcpedges:show
		edge.Println("client: close()")
		p.Client.Close()
		p.Client.WaitState("FIN_WAIT2")
		p.PrintSegments()
		// The orphan in FIN_WAIT2 is already a timewait socket
		// (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)), whose timer is
		// tcp_fin_timeout.
		edge.Printf("  client %s (closed: sock_diag), timer %s\n", p.Client.State(), p.Client.TimerWithin(5*time.Second))

		edge.Println("server: close()")
		p.Server.Close()
		p.Client.WaitState("TIME_WAIT")
		p.PrintSegments()
		// The peer's FIN rearms the same timer with TCP_TIMEWAIT_LEN
		// (tcp_timewait_state_process).
		edge.Printf("  client %s (closed: sock_diag), timer %s\n", p.Client.State(), p.Client.TimerWithin(10*time.Second))
		//tcpedges:end
	})
}

// finTimeout reads net.ipv4.tcp_fin_timeout inside h.
func finTimeout(h *edge.Host) string {
	var v []byte
	h.Do(func() {
		var err error
		v, err = os.ReadFile("/proc/sys/net/ipv4/tcp_fin_timeout")
		edge.Check(err, "read tcp_fin_timeout")
	})
	return strings.TrimSpace(string(v))
}
