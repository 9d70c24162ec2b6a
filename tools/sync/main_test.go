package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/tools/txtar"
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
	write(t, root, "testdata/hello.txtar", "exec hello -v\ncmp stdout want\n-- want --\nhi\n")
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
		"<!-- output: hello want -->\n```console\n$ go run ./examples/hello -v\n```\n\n```text\nhi\n```\n<!-- end -->\n"
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
	link := "<!-- diagram: bye want -->\n<figure class=\"diagram\" markdown>\n\n" +
		"[![bye: the segments and states it printed, as a sequence diagram](diagrams/bye.svg)](diagrams/bye.svg)\n\n</figure>\n<!-- end -->\n"
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

// Sync writes what each example's -h says: the first sentence of its
// doc comment, and the chapter that shows its code.
func TestAbout(t *testing.T) {
	root := t.TempDir()
	write(t, root, "examples/hello/main.go", "// Hello proves that a program can greet. It prints hi.\npackage main\n\nfunc main() {}\n")
	write(t, root, "chapters/01-hello.md", "# Greetings\n\n<!-- code: hello -->\n<!-- end -->\n")
	write(t, root, "internal/edge/about.go", "package edge\n")
	if err := run(root, true); err == nil {
		t.Error("check passed with a stale about.go")
	}
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "internal/edge/about.go"))
	want := `"hello": {"Hello proves that a program can greet.", "Chapter \"Greetings\", chapters/01-hello.md"},`
	if !strings.Contains(string(got), want) {
		t.Errorf("about.go:\n%s\nwant a line %s", got, want)
	}
	if err := run(root, true); err != nil {
		t.Errorf("check after sync: %v", err)
	}
}

// An output is drawn as one figure a phase, and a phase with more
// roles than fit side by side as one figure a group of connections;
// a line about no role goes with the connections of its paragraph.
func TestFigures(t *testing.T) {
	out := `# one connection
client: connect()
  client > server: Flags [S], seq 0, length 0
  server > client: Flags [S.], seq 0, ack 1, length 0
# nothing reaches a lifeline here
just words
# two connections
connected twice
  client2 > server2: Flags [S], seq 0, length 0
  client3 > server3: Flags [S], seq 0, length 0
shutdown: the first one
  client2 > server2: Flags [F.], seq 1, ack 1, length 0
  server3 FIN_WAIT2, timer off
  (no segment)
crash: the second one
client3: poll: POLLOUT
  (+0.4 s)
  states: client2 CLOSE_WAIT, client3 ESTABLISHED
# three clients, one server
  clientA > server: Flags [S], seq 0, length 0
  clientB > server: Flags [S], seq 0, length 0
  clientC > server: Flags [S], seq 0, length 0
server: accept()
`
	seq, ok := parseSequence([]byte(out))
	if !ok {
		t.Fatal("no segment found")
	}
	figs := figures(seq)
	type fig struct {
		title string
		roles []string
		texts []string
	}
	var got []fig
	for _, f := range figs {
		g := fig{title: f.title, roles: f.roles}
		for _, s := range f.steps {
			switch s.kind {
			case segment:
				g.texts = append(g.texts, s.from+">"+s.to)
			case states:
				for _, m := range s.state {
					g.texts = append(g.texts, m.role+" "+m.state)
				}
			default:
				g.texts = append(g.texts, s.text)
			}
		}
		got = append(got, g)
	}
	want := []fig{
		{"one connection", []string{"client", "server"}, []string{"client: connect()", "client>server", "server>client"}},
		{"two connections", []string{"client2", "server2"}, []string{"connected twice", "client2>server2",
			"shutdown: the first one", "client2>server2", "(no segment)", "client2 CLOSE_WAIT"}},
		{"two connections", []string{"client3", "server3"}, []string{"connected twice", "client3>server3",
			"shutdown: the first one", "server3 FIN_WAIT2, timer off", "(no segment)", "crash: the second one", "client3: poll: POLLOUT", "+0.4 s", "client3 ESTABLISHED"}},
		{"three clients, one server", []string{"clientA", "clientB", "server"}, []string{"clientA>server", "clientB>server", "server: accept()"}},
		{"three clients, one server", []string{"clientC", "server"}, []string{"clientC>server", "server: accept()"}},
	}
	if len(got) != len(want) {
		t.Fatalf("%d figures, want %d:\n%q", len(got), len(want), got)
	}
	for i := range want {
		if got[i].title != want[i].title || !slices.Equal(got[i].roles, want[i].roles) || !slices.Equal(got[i].texts, want[i].texts) {
			t.Errorf("figure %d:\n got %q\nwant %q", i+1, got[i], want[i])
		}
	}
}

// A line "  (+0.4 s)" is a time gap: drawn as a label between the
// arrows around it, the lifelines dashed across it.
func TestGap(t *testing.T) {
	out := `  client > server: Flags [P.], seq 1:5, ack 1, length 4
  (+0.4 s)
  client > server: Flags [P.], seq 1:5, ack 1, length 4
  (no segment)
`
	seq, _ := parseSequence([]byte(out))
	kinds := []stepKind{}
	for _, s := range seq.steps {
		kinds = append(kinds, s.kind)
	}
	if want := []stepKind{segment, gap, segment, note}; !slices.Equal(kinds, want) {
		t.Fatalf("steps %v, want %v", kinds, want)
	}
	svg := string(svgDiagram("gap", seq))
	if !strings.Contains(svg, ">+0.4 s</text>") || !strings.Contains(svg, "stroke-dasharray") {
		t.Errorf("no gap label or dashed lifeline in:\n%s", svg)
	}
	if strings.Index(svg, "+0.4 s") > strings.LastIndex(svg, "seq 1:5") || strings.Index(svg, "+0.4 s") < strings.Index(svg, "seq 1:5") {
		t.Errorf("the gap is not between the two arrows:\n%s", svg)
	}
}

// Every figure of every pinned output fits the column, and keeps its
// text inside its drawing, reckoned at DejaVu Sans Mono's 0.602 em
// (sitecheck measures the same in a browser).
func TestFiguresFit(t *testing.T) {
	archives, err := filepath.Glob("../../testdata/*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no pinned outputs: %v", err)
	}
	for _, path := range archives {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			seq, ok := parseSequence(f.Data)
			if !ok {
				continue
			}
			for i, fig := range figures(seq) {
				name := fmt.Sprintf("%s %s, figure %d", filepath.Base(path), f.Name, i+1)
				if len(fig.roles) > maxLifelines {
					t.Errorf("%s: %d lifelines", name, len(fig.roles))
				}
				checkBounds(t, name, svgDiagram("t", fig))
			}
		}
	}
}

func checkBounds(t *testing.T, name string, svg []byte) {
	t.Helper()
	var root struct {
		Width int `xml:"width,attr"`
		Texts []struct {
			X      float64 `xml:"x,attr"`
			Anchor string  `xml:"text-anchor,attr"`
			Size   float64 `xml:"font-size,attr"`
			Text   string  `xml:",chardata"`
		} `xml:"text"`
	}
	if err := xml.Unmarshal(svg, &root); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if root.Width > pageWidth {
		t.Errorf("%s: %d px wide, more than the column's %d", name, root.Width, pageWidth)
	}
	for _, tx := range root.Texts {
		w := float64(utf8.RuneCountInString(tx.Text)) * tx.Size * 0.602
		left := map[string]float64{"start": tx.X, "middle": tx.X - w/2, "end": tx.X - w}[tx.Anchor]
		if left < 0 || left+w > float64(root.Width) {
			t.Errorf("%s: text %q spans %.0f..%.0f, outside 0..%d", name, tx.Text, left, left+w, root.Width)
		}
	}
}

// A source that marks its point is shown as that excerpt, then whole
// in a collapsed block; the markers themselves are shown nowhere.
func TestExcerpt(t *testing.T) {
	src := "package main\n\nfunc main() {\n\tsetUp()\n\t//tcpedges:show\n\t// The point.\n\tif point() {\n\t\tshow()\n\t}\n\t//tcpedges:end\n\tprint()\n\t//tcpedges:show\n\t\tdeeper()\n\t//tcpedges:end\n}\n"
	root := t.TempDir()
	write(t, root, "examples/point/main.go", src)
	write(t, root, "chapters/point.md", "<!-- code: point -->\n<!-- end -->\n")
	if err := run(root, false); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(root, "chapters/point.md"))
	want := "<!-- code: point -->\n```go\n// The point.\nif point() {\n\tshow()\n}\n\t// ...\n\tdeeper()\n```\n\n" +
		"<details markdown>\n<summary>The whole program: <code>examples/point/main.go</code></summary>\n\n" +
		"```go\npackage main\n\nfunc main() {\n\tsetUp()\n\t// The point.\n\tif point() {\n\t\tshow()\n\t}\n\tprint()\n\t\tdeeper()\n}\n```\n\n</details>\n<!-- end -->\n"
	if string(got) != want {
		t.Errorf("filled chapter:\n%s\nwant:\n%s", got, want)
	}
	for _, bad := range []string{"//tcpedges:show\n", "//tcpedges:end\n", "//tcpedges:show\n//tcpedges:show\n"} {
		write(t, root, "examples/point/main.go", "package main\n"+bad)
		if err := run(root, true); err == nil || !strings.Contains(err.Error(), "examples/point/main.go: ") {
			t.Errorf("unbalanced markers %q: %v", bad, err)
		}
	}
}

// A cmp behind a condition on the kernel shows the same command.
func TestCommandBehindKernelCondition(t *testing.T) {
	script := "exec hello -v\n[kernel:6.1] cmp stdout want-6.1\n[!kernel:6.1] cmp stdout want\n"
	for _, file := range []string{"want", "want-6.1"} {
		got, err := command([]byte(script), file)
		if want := "go run ./examples/hello -v"; err != nil || got != want {
			t.Errorf("command for %s = %q, %v; want %q", file, got, err, want)
		}
	}
}

// Lines under several kernel conditions, and a refusal pinned on some
// kernels, still give the command a reader types.
func TestCommandUnderKernelConditions(t *testing.T) {
	script := "[kernel:6.1] ! exec hello\n[kernel:6.1] stderr 'no'\n[!kernel:6.1] [!kernel:6.12] exec hello -v\n[!kernel:6.1] [!kernel:6.12] cmp stdout want\n"
	got, err := command([]byte(script), "want")
	if err != nil || got != "go run ./examples/hello -v" {
		t.Errorf("command = %q, %v; want go run ./examples/hello -v", got, err)
	}
}
