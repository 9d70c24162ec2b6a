package edge

import (
	"os"
	"testing"
)

// The tests run where the examples do: in a network namespace of
// their own, entered by a user through a user namespace.
func TestMain(m *testing.M) {
	enterSandbox()
	os.Exit(m.Run())
}

func TestHost(t *testing.T) {
	before, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost("a")
	defer h.Close()
	h.Sysctl("net.ipv4.tcp_fin_timeout", "7")
	var p *Pair
	var got []byte
	h.Do(func() {
		got, err = os.ReadFile("/proc/sys/net/ipv4/tcp_fin_timeout")
		p = NewPair()
	})
	defer p.Close()
	if string(got) != "7\n" {
		t.Errorf("tcp_fin_timeout inside the host = %q, want 7", got)
	}
	host, err := os.ReadFile("/proc/sys/net/ipv4/tcp_fin_timeout")
	if err != nil || string(host) == "7\n" {
		t.Errorf("tcp_fin_timeout outside the host = %q, %v; the host's own must not change", host, err)
	}
	// The pair lives in the host, and sock_diag follows it there.
	p.Server.Close()
	p.Server.WaitState("FIN_WAIT2")
	if got, want := p.States(), "client CLOSE_WAIT, server FIN_WAIT2 (closed: sock_diag)"; got != want {
		t.Errorf("states = %q, want %q", got, want)
	}
	if segs := p.capture.Segments(); len(segs) != 5 {
		t.Errorf("captured %d segments inside the host, want 5 (handshake, FIN, ACK): %q", len(segs), segs)
	}
	after, _ := os.Readlink("/proc/thread-self/ns/net")
	if after != before {
		t.Errorf("this thread's namespace changed from %s to %s", before, after)
	}
}
