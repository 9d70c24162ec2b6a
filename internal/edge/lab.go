package edge

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Host is a simulated host: a network namespace this program creates,
// with its own loopback, interfaces, routes, sysctls and sockets.
//
// The namespace has no name, so nothing outside the program can find
// or keep it: the kernel removes it, with every interface in it, once
// the program has let go of it and no socket is left in it. Sockets
// can outlive the program that closed them (an orphan in FIN_WAIT1
// or LAST_ACK lives for its timers), so [Host.Close], SIGINT, SIGTERM
// and [Fatalf] destroy those left in the host; after SIGKILL they are
// left to their timers. The namespace the program started in is never
// changed.
type Host struct {
	Name string
	ns   netns.NsHandle
	nl   *netlink.Handle // netlink, inside the host
}

// NewHost creates a host with its loopback up, inside the program's
// own network namespace (see [ParseFlags]), where it may.
func NewHost(name string) *Host {
	// Catch SIGINT before there is anything to remove: from here on it
	// runs the clean-ups instead of killing the program outright.
	catchSignals()
	var ns netns.NsHandle
	err := onLockedThread(func() error {
		orig, err := netns.Get()
		if err != nil {
			return err
		}
		defer orig.Close()
		// netns.New moves this thread into the new namespace;
		// move it straight back.
		ns, err = netns.New()
		if err != nil {
			return err
		}
		return netns.Set(orig)
	})
	Check(err, "create host "+name)
	nl, err := netlink.NewHandleAt(ns)
	Check(err, "netlink in host "+name)
	h := &Host{Name: name, ns: ns, nl: nl}
	reportHost(h, true)
	// On SIGINT, SIGTERM or Fatalf, the sockets left in the host go
	// too; the descriptors go with the process.
	AtExit(h.destroySockets)
	lo, err := nl.LinkByName("lo")
	Check(err, name+": find lo")
	Check(nl.LinkSetUp(lo), name+": set lo up")
	return h
}

// onLockedThread runs f on a thread of its own. If f fails, the thread
// may be left in another namespace, so it is not given back to the Go
// runtime, which then ends it.
func onLockedThread(f func() error) error {
	runtime.LockOSThread()
	if err := f(); err != nil {
		return err
	}
	runtime.UnlockOSThread()
	return nil
}

// Do runs f inside the host: sockets f creates belong to the host,
// and stay there after f returns.
func (h *Host) Do(f func()) {
	var ferr error
	err := onLockedThread(func() error {
		orig, err := netns.Get()
		if err != nil {
			return err
		}
		defer orig.Close()
		if err := netns.Set(h.ns); err != nil {
			return err
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					ferr = fmt.Errorf("panic: %v", r)
				}
			}()
			f()
		}()
		stayIfEnding()
		return netns.Set(orig)
	})
	Check(err, "switch to host "+h.Name)
	Check(ferr, "in host "+h.Name)
}

// Sysctl sets a sysctl, such as "net.ipv4.tcp_fin_timeout", inside
// the host only.
func (h *Host) Sysctl(key, value string) {
	h.Do(func() {
		// /proc/sys/net belongs to the namespace of the thread that
		// opens it.
		path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
		Check(os.WriteFile(path, []byte(value), 0o644), h.Name+": sysctl "+key)
	})
}

// Close removes the host at once: it destroys the sockets left in it
// (orphans included, which would otherwise keep it for a minute or
// two) and lets go of the namespace, which the kernel then frees.
func (h *Host) Close() {
	stayIfEnding()
	if h.nl != nil {
		reportHost(h, false)
		h.destroySockets()
		h.nl.Close()
		h.ns.Close()
		h.nl = nil
	}
}
