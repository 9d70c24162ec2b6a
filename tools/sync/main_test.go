package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func write(t *testing.T, root, name, data string) {
	t.Helper()
	path := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSync(t *testing.T) {
	root := t.TempDir()
	write(t, root, "examples/hello/main.go", "package main\n\nfunc main() {}\n")
	write(t, root, "testdata/hello.txtar", "[!root] skip 'needs root'\nexec hello -v\ncmp stdout want\n-- want --\nhi\n")
	chapter := "# Hello\n\n<!-- code: hello -->\nstale\n<!-- end -->\n\ntext\n\n<!-- output: hello want -->\n<!-- end -->\n"
	write(t, root, "chapters/hello.md", chapter)

	err := run(root, true)
	if err == nil || !strings.Contains(err.Error(), "out of date: ") {
		t.Fatalf("check on a stale chapter: %v, want out of date", err)
	}
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "chapters/hello.md"))
	want := "# Hello\n\n<!-- code: hello -->\n```go\npackage main\n\nfunc main() {}\n```\n<!-- end -->\n\ntext\n\n" +
		"<!-- output: hello want -->\n```console\n$ go run -exec sudo ./examples/hello -v\n```\n\n```text\nhi\n```\n<!-- end -->\n"
	if string(got) != want {
		t.Errorf("filled chapter:\n%s\nwant:\n%s", got, want)
	}
	if err := run(root, true); err != nil {
		t.Errorf("check after sync: %v", err)
	}

	// A changed output makes the chapter stale again.
	write(t, root, "testdata/hello.txtar", "exec hello -v\ncmp stdout want\n-- want --\nhello\n")
	if err := run(root, true); err == nil {
		t.Error("check passed after the pinned output changed")
	}

	// An example that no chapter shows is an error.
	write(t, root, "examples/orphan/main.go", "package main\n")
	if err := run(root, false); err == nil || !strings.Contains(err.Error(), "example orphan is shown in no chapter") {
		t.Errorf("orphan example: %v", err)
	}
}

func TestMarkdown(t *testing.T) {
	root := t.TempDir()
	write(t, root, "examples/table/main.go", "package main\n")
	write(t, root, "testdata/table.txtar", "exec table\ncmp stdout want\n-- want --\n| a | b |\n|---|---|\n| 1 | 2 |\n")
	write(t, root, "chapters/table.md", "<!-- code: table -->\n<!-- end -->\n\n<!-- markdown: table want -->\nstale\n<!-- end -->\n")
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "chapters/table.md"))
	want := "<!-- code: table -->\n```go\npackage main\n```\n<!-- end -->\n\n" +
		"<!-- markdown: table want -->\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<!-- end -->\n"
	if string(got) != want {
		t.Errorf("filled chapter:\n%s\nwant:\n%s", got, want)
	}
	if err := run(root, true); err != nil {
		t.Errorf("check after sync: %v", err)
	}
	write(t, root, "chapters/table.md", "<!-- code: table -->\n<!-- end -->\n<!-- markdown: table -->\n<!-- end -->\n")
	if err := run(root, true); err == nil || !strings.Contains(err.Error(), "names no file") {
		t.Errorf("markdown marker without a file: %v", err)
	}
}

func TestMissingEnd(t *testing.T) {
	root := t.TempDir()
	write(t, root, "examples/hello/main.go", "package main\n")
	write(t, root, "chapters/hello.md", "<!-- code: hello -->\n")
	if err := run(root, true); err == nil || !strings.Contains(err.Error(), "has no") {
		t.Errorf("chapter without <!-- end -->: %v", err)
	}
}

const capture = `connected
  client > server: Flags [S], seq 0, length 0
  server > client: Flags [S.], seq 0, ack 1, length 0
  client > server: Flags [.], ack 1, length 0
server: close()
  server > client: Flags [F.], seq 1, ack 1, length 0
  client > server: Flags [.], ack 2, length 0
  states: client CLOSE_WAIT, server FIN_WAIT2 (closed: sock_diag)
`

func TestDiagram(t *testing.T) {
	root := t.TempDir()
	write(t, root, "examples/bye/main.go", "package main\n")
	write(t, root, "testdata/bye.txtar", "exec bye\ncmp stdout want\n-- want --\n"+capture)
	output := "<!-- code: bye -->\n<!-- end -->\n<!-- output: bye want -->\n<!-- end -->\n"
	write(t, root, "chapters/bye.md", output)

	// A capture without its diagram fails, in both modes.
	for _, check := range []bool{false, true} {
		err := run(root, check)
		if err == nil || !strings.Contains(err.Error(), "shows the capture of bye want but no diagram") {
			t.Errorf("capture without a diagram (check %v): %v", check, err)
		}
	}

	write(t, root, "chapters/bye.md", output+"<!-- diagram: bye want -->\n<!-- end -->\n")
	if err := run(root, true); err == nil || !strings.Contains(err.Error(), "diagrams/bye.svg") {
		t.Errorf("check with the diagram not drawn yet: %v, want it named out of date", err)
	}
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(root, "chapters/bye.md"))
	link := "<!-- diagram: bye want -->\n![bye: the segments and states it printed, as a sequence diagram](diagrams/bye.svg)\n<!-- end -->\n"
	if !strings.HasSuffix(string(md), link) {
		t.Errorf("chapter:\n%s\nwant it to end in:\n%s", md, link)
	}
	svg := filepath.Join(root, "chapters/diagrams/bye.svg")
	drawn, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if err := run(root, true); err != nil {
		t.Errorf("check after sync: %v", err)
	}

	// A changed capture changes the picture.
	write(t, root, "testdata/bye.txtar", "exec bye\ncmp stdout want\n-- want --\n"+strings.Replace(capture, "ack 2", "ack 3", 1))
	if err := run(root, true); err == nil || !strings.Contains(err.Error(), ", "+svg+" (run go run ./tools/sync)") {
		t.Errorf("check after the capture changed: %v, want the diagram out of date", err)
	}
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	if redrawn, _ := os.ReadFile(svg); bytes.Equal(redrawn, drawn) || !bytes.Contains(redrawn, []byte("ack 3")) {
		t.Error("the diagram was not redrawn from the changed capture")
	}

	// A missing drawing is out of date; a stray one is reported, and
	// removed by sync.
	os.Remove(svg)
	if err := run(root, true); err == nil || !strings.Contains(err.Error(), "out of date: "+svg) {
		t.Errorf("check with the diagram missing: %v", err)
	}
	write(t, root, "chapters/diagrams/old.svg", "<svg/>")
	if err := run(root, true); err == nil || !strings.Contains(err.Error(), "old.svg is drawn for no") {
		t.Errorf("check with a stray diagram: %v", err)
	}
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "chapters/diagrams/old.svg")); !os.IsNotExist(err) {
		t.Errorf("stray diagram not removed: %v", err)
	}
	if err := run(root, true); err != nil {
		t.Errorf("check after sync: %v", err)
	}
}

func TestDiagramWithoutCapture(t *testing.T) {
	root := t.TempDir()
	write(t, root, "examples/hello/main.go", "package main\n")
	write(t, root, "testdata/hello.txtar", "exec hello\ncmp stdout want\n-- want --\nhi\n  (capture left out: it needs root)\n")
	write(t, root, "chapters/hello.md", "<!-- code: hello -->\n<!-- end -->\n<!-- diagram: hello want -->\n<!-- end -->\n")
	if err := run(root, false); err == nil || !strings.Contains(err.Error(), "holds no captured segment") {
		t.Errorf("diagram of an output without a capture: %v", err)
	}
}

func TestParseStates(t *testing.T) {
	got := parseStates("client TIME_WAIT (our socket CLOSED, the connection TIME_WAIT in sock_diag), server CLOSED (closed: sock_diag), client2 SYN_SENT")
	want := []stateMark{
		{"client", "TIME_WAIT", "(our socket CLOSED, the connection TIME_WAIT in sock_diag)"},
		{"server", "CLOSED", "(closed: sock_diag)"},
		{"client2", "SYN_SENT", ""},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseStates:\n got %q\nwant %q", got, want)
	}
}

// The drawing of three roles is well-formed SVG with a lifeline and an
// arrow for each role and segment, labelled as captured, and the
// states and story in it.
func TestSVG(t *testing.T) {
	out := capture + `client2: connect()
  client2 > server: Flags [S], seq 0, length 0
  server > client2: Flags [R.], seq 0, ack 1, length 0
  states: client CLOSE_WAIT, client2 CLOSED, server FIN_WAIT2 (closed: sock_diag)
  (no segment)
`
	seq, ok := parseSequence([]byte(out))
	if !ok {
		t.Fatal("no segment found")
	}
	if want := []string{"client", "client2", "server"}; !slices.Equal(seq.roles, want) {
		t.Errorf("roles %q, want %q", seq.roles, want)
	}
	svg := svgDiagram("a & b", seq)

	var texts []string
	lines, arrows := 0, 0
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local == "line" {
				lines++
				for _, a := range tok.Attr {
					if a.Name.Local == "marker-end" {
						arrows++
					}
				}
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(tok)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	if arrows != 7 || lines != 7+3 {
		t.Errorf("%d arrows and %d lines, want 7 arrows and 3 lifelines", arrows, lines-arrows)
	}
	for _, want := range []string{"a & b", "client2", "[R.] seq 0, ack 1, length 0", "[F.] seq 1, ack 1, length 0",
		"CLOSE_WAIT", "FIN_WAIT2", "(closed: sock_diag)", "server: close()", "client2: connect()", "connected", "(no segment)"} {
		if !slices.Contains(texts, want) {
			t.Errorf("no text %q in the drawing; texts: %q", want, texts)
		}
	}
	// The same output draws the same bytes.
	if again, _ := parseSequence([]byte(out)); !bytes.Equal(svgDiagram("a & b", again), svg) {
		t.Error("two drawings of one output differ")
	}
}

func TestWrap(t *testing.T) {
	got := wrap(`client: conn.Read = 10 "still here", err <nil>`, 20)
	want := []string{"client: conn.Read =", `10 "still here", err`, "<nil>"}
	if !slices.Equal(got, want) {
		t.Errorf("wrap: %q, want %q", got, want)
	}
}

// A cmp behind a condition on the kernel shows the same command.
func TestCommandBehindKernelCondition(t *testing.T) {
	script := "[!root] skip 'needs root'\nexec hello -v\n[kernel:6.1] cmp stdout want-6.1\n[!kernel:6.1] cmp stdout want\n"
	for _, file := range []string{"want", "want-6.1"} {
		got, err := command([]byte(script), file)
		if want := "go run -exec sudo ./examples/hello -v"; err != nil || got != want {
			t.Errorf("command for %s = %q, %v; want %q", file, got, err, want)
		}
	}
}
