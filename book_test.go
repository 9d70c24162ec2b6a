// The book's tests: every script in testdata runs examples and pins
// their exact output. Run with -update to rewrite the expected output
// in the scripts from real runs, then read every diff it makes.
package tcpedges_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/*.txtar")

// binDir holds the examples, built once for all scripts.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	// Examples built elsewhere, as tools/kernels does for a VM that
	// has no writable Go cache: use them as they are.
	if dir := os.Getenv("TCPEDGES_BIN"); dir != "" {
		binDir = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "tcp-edges-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Readable by all: a script runs an example as an unprivileged user.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := 1
	if err := buildExamples(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildExamples builds every example into dir, named after its folder.
func buildExamples(dir string) error {
	cmd := exec.Command(goTool(), "build", "-o", dir+string(filepath.Separator), "./examples/...")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building the examples: %v", err)
	}
	return nil
}

// goTool finds the go command, also where sudo (go test -exec sudo)
// has reset PATH.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			noteKernel(env)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			}
			if ok, handled, err := kernelCondition(cond, kernelRelease()); handled {
				return ok, err
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// Pinned outputs must be the same on every run: no addresses with
// ports, no clock times, no absolute sequence numbers.
func TestPinnedOutputsHoldNoRunVaryingValues(t *testing.T) {
	varying := map[string]*regexp.Regexp{
		"an address with a port":   regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}:\d+`),
		"a clock time":             regexp.MustCompile(`\b\d{2}:\d{2}:\d{2}`),
		"an absolute seq/ack":      regexp.MustCompile(`\b(seq|ack) \d{8,}`),
		"a port in a Go net error": regexp.MustCompile(`tcp \S+:\d{4,5}`),
	}
	scripts, _ := filepath.Glob("testdata/*.txtar")
	for _, path := range scripts {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			for i, line := range strings.Split(string(f.Data), "\n") {
				for what, re := range varying {
					if re.MatchString(line) {
						t.Errorf("%s, file %s, line %d holds %s: %q", path, f.Name, i+1, what, line)
					}
				}
			}
		}
	}
}

// Examples wait on what the kernel reports, never for a guessed time.
func TestExamplesDoNotSleep(t *testing.T) {
	sources, _ := filepath.Glob("examples/*/main.go")
	for _, path := range sources {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "time.Sleep(") {
			t.Errorf("%s calls time.Sleep: wait on a kernel event with the edge package instead", path)
		}
	}
}

// Every example, present and future, rejects a bad flag and a stray
// argument with one sentence on stderr, nothing on stdout and status 2,
// before it does anything.
func TestEveryExampleRejectsBadUsage(t *testing.T) {
	entries, err := os.ReadDir(binDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		for _, args := range [][]string{{"-no-such-flag"}, {"stray"}} {
			cmd := exec.Command(filepath.Join(binDir, name), args...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if code != 2 || stdout.Len() > 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], name+": ") {
				t.Errorf("%s %s: status %d, stdout %q, stderr %q; want status 2, no stdout, one line %q on stderr",
					name, args[0], code, stdout.String(), stderr.String(), name+": ...")
			}
		}
	}
}
