// Ports-bind-no-port proves what a client that chooses its source
// address pays for it: net.Dialer with a LocalAddr binds before it
// connects, and bind(2) with port 0 picks a local port for the socket
// alone, whatever it will connect to. With 2 local ports, two
// connections to one server use them up, and a third bind fails with
// EADDRINUSE even for another server. With IP_BIND_ADDRESS_NO_PORT,
// bind leaves the port to connect(2), which picks one by the whole
// four-tuple: the same port serves both servers. Each part runs in a
// network namespace of its own, with 2 local ports.
package main

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"tcpedges/internal/edge"
)

func main() {
	edge.ParseFlags()

	//tcpedges:show
	// The source address is chosen, the port is not: bind(2) to
	// 127.0.0.1:0, then connect(2).
	bound := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	// The same, with IP_BIND_ADDRESS_NO_PORT set before bind.
	noPort := &net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)},
		Control: func(network, address string, c syscall.RawConn) error {
			var err error
			c.Control(func(fd uintptr) {
				err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
			})
			return err
		},
	}
	//tcpedges:end

	edge.Println("# net.Dialer{LocalAddr: 127.0.0.1}, 2 local ports")
	shared := run(bound)
	if shared {
		edge.Fatalf("client3: a port picked by bind was shared: the story needs bind to keep it")
	}
	edge.Println("# the same with IP_BIND_ADDRESS_NO_PORT, 2 local ports")
	if !run(noPort) {
		edge.Fatalf("client3: IP_BIND_ADDRESS_NO_PORT did not let it share a port: the story needs it to")
	}
}

// run connects with d, in a host of its own with 2 local ports, twice
// to server, then once to server2 and once more to server, and says
// whether the connection to server2 shared a port.
func run(d *net.Dialer) (shared bool) {
	h := edge.NewHost("host")
	defer h.Close()
	h.Do(func() {
		s := edge.NewQuietScene()
		defer s.Close()
		ln := s.Listen("server")
		defer ln.Close()
		ln2 := s.Listen("server2")
		defer ln2.Close()
		// In errors, the address bind(2) is given, port 0, is shown
		// without it.
		s.Name(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, "127.0.0.1")
		// The listeners' ports are from the default range, below it.
		h.Sysctl("net.ipv4.ip_local_port_range", "61000 61001")

		used := map[int]bool{}
		for _, role := range []string{"client1", "client2"} {
			c := dial(s, d, role, ln, "server")
			if c == nil {
				edge.Fatalf("%s: no connection with a free port: the story needs one", role)
			}
			defer c.Close()
			used[port(c)] = true
		}
		//tcpedges:show
		c := dial(s, d, "client3", ln2, "server2")
		if c != nil {
			defer c.Close()
			shared = used[port(c)]
			edge.Printf("  its local port is client1's or client2's: %v\n", shared)
		}
		if c := dial(s, d, "client4", ln, "server"); c != nil {
			defer c.Close()
		}
		//tcpedges:end
	})
	return shared
}

// dial connects with d to the listener ln as role, and prints the
// outcome.
func dial(s *edge.Scene, d *net.Dialer, role string, ln *net.TCPListener, to string) net.Conn {
	c, err := d.Dial("tcp", ln.Addr().String())
	// A port used up is the story; any other error (too many open
	// files, say) would tell another.
	if err != nil && !errors.Is(err, unix.EADDRINUSE) && !errors.Is(err, unix.EADDRNOTAVAIL) {
		edge.Fatalf("%s: Dial(%s): %s", role, to, s.Describe(err))
	}
	if err != nil {
		edge.Printf("%s: Dial(%s): err %s\n", role, to, s.Describe(err))
		return nil
	}
	edge.Printf("%s: Dial(%s): connected\n", role, to)
	return c
}

func port(c net.Conn) int { return c.LocalAddr().(*net.TCPAddr).Port }
