package edge

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

func TestFormat(t *testing.T) {
	client := netip.MustParseAddrPort("127.0.0.1:40000")
	server := netip.MustParseAddrPort("127.0.0.1:50000")
	other := netip.MustParseAddrPort("127.0.0.1:60000")
	role := func(a netip.AddrPort) string {
		return map[netip.AddrPort]string{client: "client", server: "server"}[a]
	}
	c := &Capture{base: map[flow]uint32{}, roles: func(from, to netip.AddrPort) (string, string) {
		return role(from), role(to)
	}}
	const cisn, sisn = 4000000000, 123
	wrap := func(v uint64) uint32 { return uint32(v) } // modulo 2^32
	for _, tc := range []struct {
		from, to netip.AddrPort
		tcp      layers.TCP
		length   int
		want     string
	}{
		{client, server, layers.TCP{SYN: true, Seq: cisn}, 0,
			"client > server: Flags [S], seq 0, length 0"},
		{server, client, layers.TCP{SYN: true, ACK: true, Seq: sisn, Ack: cisn + 1}, 0,
			"server > client: Flags [S.], seq 0, ack 1, length 0"},
		{client, server, layers.TCP{ACK: true, Seq: cisn + 1, Ack: sisn + 1}, 0,
			"client > server: Flags [.], ack 1, length 0"},
		// Sequence numbers wrap around 2^32 and stay relative.
		{client, server, layers.TCP{PSH: true, ACK: true, Seq: cisn + 1, Ack: sisn + 1}, 300000000,
			"client > server: Flags [P.], seq 1:300000001, ack 1, length 300000000"},
		{server, client, layers.TCP{FIN: true, PSH: true, ACK: true, Seq: sisn + 1, Ack: wrap(cisn + 300000001)}, 5,
			"server > client: Flags [FP.], seq 1:6, ack 300000001, length 5"},
		{client, server, layers.TCP{RST: true, Seq: wrap(cisn + 300000001)}, 0,
			"client > server: Flags [R], seq 300000001, length 0"},
		{client, other, layers.TCP{SYN: true, Seq: 7}, 0, ""},
	} {
		got, ok := c.format(tc.from, tc.to, &tc.tcp, tc.length)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("format(%v > %v) = %q, %v; want %q", tc.from, tc.to, got, ok, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "<nil>"},
		{io.EOF, `"EOF"`},
		{unix.EPIPE, `EPIPE "broken pipe"`},
		{fmt.Errorf("write tcp: %w", unix.ECONNRESET), `ECONNRESET "write tcp: connection reset by peer"`},
		{errors.New("plain"), `"plain"`},
	} {
		if got := Describe(tc.err); got != tc.want {
			t.Errorf("Describe(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	if got := Ret(0, unix.EAGAIN); got != `-1 EAGAIN "resource temporarily unavailable"` {
		t.Errorf("Ret(0, EAGAIN) = %s", got)
	}
	if got := Ret(5, nil); got != "5" {
		t.Errorf("Ret(5, nil) = %s", got)
	}
}
