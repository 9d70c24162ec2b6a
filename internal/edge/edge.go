// Package edge is the plumbing the examples share, so that each
// example stays a short story about one edge of a TCP connection:
//
//   - [NewPair]: a connected client and server on 127.0.0.1, each
//     [End] usable as a net.Conn and as a raw descriptor for
//     x/sys/unix. A [Scene] does the same for any number of named
//     listeners and connections ([Scene.Listen], [Scene.Dial],
//     [Scene.Accept], [Scene.Name]).
//   - [End.State]: the kernel's own word on a socket's TCP state, from
//     TCP_INFO while we hold it and from sock_diag ([DiagState],
//     [Diag]) after we closed it.
//   - [End.WaitState], [WaitFD], [WaitAcked]: waits on what the kernel
//     reports, bounded by [Timeout], never a guessed sleep.
//   - [Printf], [Println]: a line of the example's story, printed after
//     the segments captured before it, so that the output is one
//     timeline; [Gap] a pause a kernel timer takes. The segments are
//     those of named endpoints, captured with AF_PACKET ([Capture])
//     and printed like tcpdump, with roles for addresses and relative
//     sequence numbers; [Scene.PrintSegments] ends a step with them.
//   - [Describe], [Ret], [SignalsDuring]: errors by errno name and Go's
//     text, system call results as C sees them, and the signal a call
//     raised.
//   - [NewHost]: a simulated host in an unnamed network namespace, with
//     its own sysctls ([Host.Sysctl]); [Host.Do] runs code inside it.
//   - [ParseFlags]: the flags, then a network namespace of the
//     program's own (a user's through a user namespace).
//   - [Fatalf], [Check], [AtExit], [Exit]: a clear
//     sentence and a non-zero status on every failure, and clean-up on
//     every exit path.
//
// Helpers end the program with a clear message on failure ([Fatalf]):
// an example is a demonstration, and has nothing to recover.
package edge

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	mu       sync.Mutex
	cleanups []func()
	sigOnce  sync.Once
	exiting  atomic.Bool
	exited   = make(chan struct{})
)

// AtExit registers f to run when the program ends through [Exit],
// [Fatalf], SIGINT or SIGTERM, last registered first. Labs use it to
// remove what they made on every exit path.
func AtExit(f func()) {
	catchSignals()
	mu.Lock()
	defer mu.Unlock()
	cleanups = append(cleanups, f)
}

// catchSignals makes SIGINT and SIGTERM run the clean-ups and exit
// with 128 plus the signal's number.
func catchSignals() {
	sigOnce.Do(func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
		go func() {
			s := <-c
			quiet()
			// The line comes last, just before the exit: should main
			// return meanwhile (the story was over), the program ends
			// with status 0 and says nothing of an interrupt.
			line := fmt.Sprintf("%s: interrupted by %v\n", Name(), s)
			if parentReports {
				line = "" // the sandbox's parent says it (sandbox.go)
			}
			exit(128+int(s.(syscall.Signal)), line)
		}()
	})
}

// Exit runs the functions registered with [AtExit] and exits. Only
// the first call does: a later one (a Fatalf in the main goroutine
// while SIGINT's clean-up removes what it was using, say) waits for
// the first to end the program, so that the exit status is the first
// one's. Should the later call come from a clean-up itself, it ends the
// program after a bound rather than wait for itself forever.
func Exit(code int) { exit(code, "") }

// exit is [Exit], printing last on stderr after the clean-ups.
func exit(code int, last string) {
	if exiting.Swap(true) {
		select {
		case <-exited:
			select {} // the first call is ending the program
		case <-time.After(5 * time.Second):
			os.Exit(code)
		}
	}
	mu.Lock()
	fs := cleanups
	cleanups = nil
	mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	close(exited)
	os.Stderr.WriteString(last)
	os.Exit(code)
}

// Fatalf prints "name: message" on stderr and exits with status 1.
// Once the program is ending (interrupted, say), it prints nothing:
// the failure is a consequence of the ending, not news.
func Fatalf(format string, args ...any) {
	if !exiting.Load() {
		msg := fmt.Sprintf(format, args...)
		reportSockets("sockets, at the failure: " + msg)
		fmt.Fprintf(os.Stderr, "%s: %s\n", Name(), msg)
	}
	Exit(1)
}

// Check ends the program if err is not nil, saying what failed.
func Check(err error, what string) {
	if err != nil {
		Fatalf("%s: %v", what, err)
	}
}

// Name is the program's name, as the user typed it.
func Name() string { return filepath.Base(os.Args[0]) }

// ParseFlags parses the command line for an example, which takes the
// flags it defines and no arguments. -h says what the example shows
// and prints the flags; anything else wrong ends the program with one
// sentence and status 2.
//
// Then the program enters a network namespace of its own (see
// enterSandbox): it must be the first thing an example does.
func ParseFlags() {
	parseFlags()
	enterSandbox()
	startReport()
}

func parseFlags() {
	fs := flag.CommandLine
	fs.Init(Name(), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := fs.Parse(os.Args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		if a, ok := about[Name()]; ok {
			fmt.Printf("%s: %s\n(%s)\n", Name(), a.shows, a.chapter)
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			fmt.Printf("usage: %s (it takes no flags)\n", Name())
			os.Exit(0)
		}
		fmt.Printf("usage: %s [flags]\n", Name())
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v (run %[1]s -h for the flags)\n", Name(), err)
		os.Exit(2)
	case fs.NArg() > 0:
		fmt.Fprintf(os.Stderr, "%s: takes no arguments, got %q (run %[1]s -h for the flags)\n", Name(), fs.Arg(0))
		os.Exit(2)
	}
}
