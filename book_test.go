// The book's tests: every script in testdata runs examples and pins
// their exact output. Run with -update to rewrite the expected output
// in the scripts from real runs, then read every diff it makes.
package tcpedges_test

import (
	"crypto/sha256"
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

// binDir holds the examples, built for all scripts into a folder that
// outlives the run: the go command relinks only what changed.
var binDir string

func TestMain(m *testing.M) {
	if example := os.Getenv(refuseEnv); example != "" {
		refuseUserNamespaces(example)
	}
	flag.Parse()
	// The scripts mostly wait on the kernel's timers, not on a CPU:
	// run more of them at once than there are cores, unless told.
	parallel := false
	flag.Visit(func(f *flag.Flag) { parallel = parallel || f.Name == "test.parallel" })
	if !parallel {
		flag.Set("test.parallel", "16")
	}
	// Examples built elsewhere, as tools/kernels does for a VM that
	// has no writable Go cache: use them as they are.
	if dir := os.Getenv("TCPEDGES_BIN"); dir != "" {
		binDir = dir
		os.Exit(m.Run())
	}
	dir, err := examplesDir()
	if err == nil {
		binDir = dir
		err = buildExamples(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// examplesDir is this checkout's folder for the built examples, in the
// user's cache (~/.cache/tcp-edges/examples-<hash of the checkout's
// path>): two checkouts never share one.
func examplesDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no folder for the built examples: %v", err)
	}
	root, err := filepath.Abs(".")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(cache, "tcp-edges", fmt.Sprintf("examples-%x", sum[:6]))
	return dir, os.MkdirAll(dir, 0o755)
}

// buildExamples builds every example into dir, named after its folder.
// An example that is up to date is not linked again.
func buildExamples(dir string) error {
	list := exec.Command(goTool(), "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "./examples/...")
	list.Stderr = os.Stderr
	out, err := list.Output()
	if err != nil {
		return fmt.Errorf("listing the examples' packages: %v", err)
	}
	sources = strings.Fields(string(out))
	cmd := exec.Command(goTool(), "build", "-o", dir+string(filepath.Separator), "./examples/...")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building the examples: %v", err)
	}
	return nil
}

// sources are the folders of this module's packages the examples are
// built from.
var sources []string

// usesExamples tells Go's test cache what the examples are built from.
// Go caches a test's result, keyed by the files the test opened (and
// only while tests run: not in TestMain); it cannot see what a child go
// build read. So a test that runs examples lists the folder of each of
// their packages, and looks at the module's files and the environment
// that changes how go build builds: a change to any of them runs the
// tests again instead of answering from the cache.
func usesExamples(t *testing.T) {
	if sources == nil {
		return // examples built elsewhere (TCPEDGES_BIN): nothing to watch here
	}
	for _, dir := range sources {
		if _, err := os.ReadDir(dir); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"GOFLAGS", "GOEXPERIMENT", "CGO_ENABLED", "GOAMD64", "GOTOOLCHAIN", "GOENV"} {
		os.Getenv(v)
	}
}

// goTool finds the go command, also where sudo (go test -exec sudo)
// has reset PATH.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// The tests that run examples run side by side, after those that
// watch the machine for what an example leaves behind (lab_test.go),
// which must see no other example running.
func TestScripts(t *testing.T) {
	t.Parallel()
	usesExamples(t)
	// An example runs in namespaces of its own (edge.ParseFlags); where
	// the kernel refuses them to a user, no script can run. That is a
	// failure, in one line, not a quiet skip.
	probe := exec.Command(filepath.Join(binDir, "read-after-close"))
	var stderr strings.Builder
	probe.Stderr = &stderr
	if probe.Run() != nil && strings.Contains(stderr.String(), "refused") {
		scripts, _ := filepath.Glob("testdata/*.txtar")
		t.Fatalf("none of the %d scripts can run here: %s", len(scripts), strings.TrimSpace(stderr.String()))
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
			noteKernel(env)
			watchSockets(env)
			return nil
		},
		Condition: func(cond string) (bool, error) {
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
	t.Parallel()
	usesExamples(t)
	for _, name := range exampleNames(t) {
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

// exampleNames are the examples of this checkout, by their folders: the
// cache of built examples may hold one since removed.
func exampleNames(t *testing.T) []string {
	sources, err := filepath.Glob("examples/*/main.go")
	if err != nil || len(sources) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	var names []string
	for _, src := range sources {
		names = append(names, filepath.Base(filepath.Dir(src)))
	}
	return names
}

// Every example's -h says in a sentence what it shows and which chapter
// it belongs to, then its usage, with status 0.
func TestEveryExampleSaysWhatItShows(t *testing.T) {
	t.Parallel()
	usesExamples(t)
	for _, name := range exampleNames(t) {
		out, err := exec.Command(filepath.Join(binDir, name), "-h").Output()
		lines := strings.Split(string(out), "\n")
		if err != nil || len(lines) < 3 || !strings.HasPrefix(lines[0], name+": ") || !strings.HasSuffix(lines[0], ".") ||
			!strings.HasPrefix(lines[1], `(Chapter "`) || !strings.HasPrefix(lines[2], "usage: "+name) {
			t.Errorf("%s -h: %v, %q; want what it shows, its chapter, its usage", name, err, out)
		}
	}
}
