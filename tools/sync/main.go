// Sync fills the generated blocks of the chapters from the examples'
// sources and from the outputs the tests pin, so that no code or
// output in the book is typed by hand.
//
// A chapter marks a block with an HTML comment, and sync rewrites
// everything up to the next <!-- end -->:
//
//	<!-- code: read-after-close -->       examples/read-after-close/main.go: the lines
//	                                       it marks as the point, and the whole
//	                                       program in a collapsed block (see code)
//	<!-- output: read-after-close want --> file "want" of testdata/read-after-close.txtar,
//	                                       after the command that runs the example
//	<!-- markdown: errmap want -->         file "want" of testdata/errmap.txtar as it
//	                                       is, for an example that prints Markdown
//	<!-- diagram: read-after-close want --> that output's segments and states drawn
//	                                       as a sequence diagram, written to
//	                                       chapters/diagrams/read-after-close.svg
//
// Every output that holds a packet capture must have its diagram in the
// chapters: sync fails, also in check mode, where one is missing. The
// folder chapters/diagrams is sync's alone: a drawing no marker asks for
// is removed (reported by -check).
//
// Usage:
//
//	go run ./tools/sync          rewrite the chapters
//	go run ./tools/sync -check   change nothing; fail if a chapter or a diagram
//	                             is out of date or missing
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/tools/txtar"
)

var (
	check = flag.Bool("check", false, "change nothing; exit 1 if a chapter is out of date")
	dir   = flag.String("C", ".", "the repository's root")
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: sync [-check] [-C dir]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "sync: takes no arguments, got %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := run(*dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "sync:", err)
		os.Exit(1)
	}
}

// A chapter's generated parts: the examples whose code it shows, the
// outputs it shows that hold a capture, and the diagrams it draws.
type parts struct {
	shown    []string
	captures []string          // "example file"
	drawn    []string          // "example file"
	diagrams map[string][]byte // file under chapters/ -> SVG
}

func run(root string, check bool) error {
	chapters, err := filepath.Glob(filepath.Join(root, "chapters", "*.md"))
	if err != nil {
		return err
	}
	var stale, problems []string
	shown := map[string]bool{}
	diagrams := map[string][]byte{}
	drawn := map[string]bool{} // "example file"
	var captures []string      // "chapter\x00example file"
	for _, path := range chapters {
		old, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		new, p, err := fill(root, old)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		for _, n := range p.shown {
			shown[n] = true
		}
		for _, c := range p.captures {
			captures = append(captures, path+"\x00"+c)
		}
		maps.Copy(diagrams, p.diagrams)
		for _, d := range p.drawn {
			drawn[d] = true
		}
		if bytes.Equal(old, new) {
			continue
		}
		if check {
			stale = append(stale, path)
			continue
		}
		if err := os.WriteFile(path, new, 0o644); err != nil {
			return err
		}
		fmt.Println("sync: wrote", path)
	}
	// Every output with a capture has its diagram.
	for _, c := range captures {
		path, what, _ := strings.Cut(c, "\x00")
		if !drawn[what] {
			problems = append(problems, fmt.Sprintf("%s shows the capture of %s but no diagram of it (add <!-- diagram: %[2]s --> and <!-- end --> under the output)", path, what))
		}
	}
	// The diagrams: written, or compared with what is committed.
	dir := filepath.Join(root, "chapters")
	for _, f := range slices.Sorted(maps.Keys(diagrams)) {
		path := filepath.Join(dir, f)
		old, err := os.ReadFile(path)
		if err == nil && bytes.Equal(old, diagrams[f]) {
			continue
		}
		if check {
			stale = append(stale, path)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, diagrams[f], 0o644); err != nil {
			return err
		}
		fmt.Println("sync: wrote", path)
	}
	files, err := filepath.Glob(filepath.Join(dir, "diagrams", "*"))
	if err != nil {
		return err
	}
	for _, path := range files {
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if _, ok := diagrams[filepath.ToSlash(rel)]; ok {
			continue
		}
		if check {
			problems = append(problems, fmt.Sprintf("%s is drawn for no <!-- diagram: --> marker (run go run ./tools/sync to remove it)", path))
			continue
		}
		if err := os.Remove(path); err != nil {
			return err
		}
		fmt.Println("sync: removed", path)
	}
	// Every example belongs to a chapter.
	examples, err := filepath.Glob(filepath.Join(root, "examples", "*", "main.go"))
	if err != nil {
		return err
	}
	for _, e := range examples {
		name := filepath.Base(filepath.Dir(e))
		if !shown[name] {
			problems = append(problems, fmt.Sprintf("example %s is shown in no chapter (add <!-- code: %[1]s --> to one)", name))
		}
	}
	// What each example's -h says, where the tree has the edge package.
	if _, err := os.Stat(filepath.Join(root, filepath.Dir(aboutFile))); err == nil {
		path := filepath.Join(root, aboutFile)
		src, err := aboutSource(root)
		if err != nil {
			return err
		}
		old, _ := os.ReadFile(path)
		switch {
		case bytes.Equal(old, src):
		case check:
			stale = append(stale, path)
		default:
			if err := os.WriteFile(path, src, 0o644); err != nil {
				return err
			}
			fmt.Println("sync: wrote", path)
		}
	}
	if len(stale) > 0 {
		problems = append(problems, fmt.Sprintf("out of date: %s (run go run ./tools/sync)", strings.Join(stale, ", ")))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n  "))
	}
	return nil
}

var marker = regexp.MustCompile(`(?m)^<!-- (code|output|markdown|diagram): ([a-z0-9-]+)(?: ([^ ]+))? -->\n`)

const end = "<!-- end -->\n"

// fill returns the chapter with every marked block regenerated, and
// what it generated.
func fill(root string, md []byte) ([]byte, parts, error) {
	var out bytes.Buffer
	p := parts{diagrams: map[string][]byte{}}
	rest := md
	for {
		loc := marker.FindSubmatchIndex(rest)
		if loc == nil {
			out.Write(rest)
			return out.Bytes(), p, nil
		}
		out.Write(rest[:loc[1]])
		kind, name := string(rest[loc[2]:loc[3]]), string(rest[loc[4]:loc[5]])
		file := ""
		if loc[6] >= 0 {
			file = string(rest[loc[6]:loc[7]])
		}
		rest = rest[loc[1]:]
		i := bytes.Index(rest, []byte(end))
		if i < 0 {
			return nil, p, fmt.Errorf("<!-- %s: %s --> has no %q after it", kind, name, strings.TrimSpace(end))
		}
		rest = rest[i+len(end):]

		var block string
		var err error
		switch kind {
		case "code":
			block, err = code(root, name)
			p.shown = append(p.shown, name)
		case "output":
			var captured bool
			block, captured, err = output(root, name, file)
			if captured {
				p.captures = append(p.captures, name+" "+file)
			}
		case "diagram":
			var svgs map[string][]byte
			block, svgs, err = diagram(root, name, file)
			maps.Copy(p.diagrams, svgs)
			p.drawn = append(p.drawn, name+" "+file)
		case "markdown":
			block, err = markdown(root, name, file)
		}
		if err != nil {
			return nil, p, err
		}
		out.WriteString(block)
		out.WriteString(end)
	}
}

// code shows an example: the lines its source marks as the point,
// then the whole program in a block the reader opens with a click. A
// source marks the point with lines of their own,
//
//	//tcpedges:show
//	... the calls being demonstrated ...
//	//tcpedges:end
//
// as often as it needs (the parts are joined by "// ..."); the markers
// themselves are shown nowhere. A source without them is shown whole.
// The block is HTML with Markdown inside (md_in_html): GitHub shows it
// as the same collapsed block.
func code(root, name string) (string, error) {
	path := filepath.Join("examples", name, "main.go")
	src, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		return "", err
	}
	point, whole, err := excerpt(string(src))
	if err != nil {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	if point == "" {
		return fence("go", []byte(whole)), nil
	}
	return fence("go", []byte(point)) + "\n<details markdown>\n<summary>The whole program: <code>" + path + "</code></summary>\n\n" +
		fence("go", []byte(whole)) + "\n</details>\n", nil
}

const (
	showStart = "//tcpedges:show"
	showEnd   = "//tcpedges:end"
)

// excerpt returns the parts of src between the show markers, joined
// and with their common indentation removed ("" if there are none),
// and src without the markers.
func excerpt(src string) (point, whole string, err error) {
	var parts [][]string
	var rest []string
	in := false
	for i, l := range strings.SplitAfter(src, "\n") {
		switch strings.TrimSpace(l) {
		case showStart:
			if in {
				return "", "", fmt.Errorf("line %d: %s inside another", i+1, showStart)
			}
			in = true
			parts = append(parts, nil)
			continue
		case showEnd:
			if !in {
				return "", "", fmt.Errorf("line %d: %s without %s", i+1, showEnd, showStart)
			}
			in = false
			continue
		}
		rest = append(rest, l)
		if in {
			parts[len(parts)-1] = append(parts[len(parts)-1], l)
		}
	}
	if in {
		return "", "", fmt.Errorf("%s without %s", showStart, showEnd)
	}
	whole = strings.Join(rest, "")
	if len(parts) == 0 {
		return "", whole, nil
	}
	// The common indentation, and each part's own, for its "// ...".
	indent := func(l string) string { return l[:len(l)-len(strings.TrimLeft(l, "\t"))] }
	common := ""
	first := true
	for _, p := range parts {
		for _, l := range p {
			if strings.TrimSpace(l) == "" {
				continue
			}
			if first || len(indent(l)) < len(common) {
				common, first = indent(l), false
			}
		}
	}
	var b strings.Builder
	for k, p := range parts {
		if k > 0 {
			next := common
			if i := slices.IndexFunc(p, func(l string) bool { return strings.TrimSpace(l) != "" }); i >= 0 {
				next = indent(p[i])
			}
			b.WriteString(strings.TrimPrefix(next, common) + "// ...\n")
		}
		for _, l := range p {
			b.WriteString(strings.TrimPrefix(l, common))
		}
	}
	return b.String(), whole, nil
}

// output is the command that runs the example and the output that
// testdata/<name>.txtar pins in its file "file"; captured says whether
// that output holds captured segments.
func output(root, name, file string) (block string, captured bool, err error) {
	ar, data, err := pinned(root, "output", name, file)
	if err != nil {
		return "", false, err
	}
	run, err := command(ar.Comment, file)
	if err != nil {
		return "", false, fmt.Errorf("testdata/%s.txtar: %v", name, err)
	}
	_, captured = parseSequence(data)
	return fmt.Sprintf("```console\n$ %s\n```\n\n", run) + fence("text", data), captured, nil
}

// diagram draws the output testdata/<name>.txtar pins in its file
// "file" as sequence diagrams, one a figure (see figures), and shows
// them: each at its own size in a figure that scrolls sideways where
// the page is narrower, and links to itself, so that a tap opens it
// alone. The figure is HTML with Markdown inside (md_in_html), which
// GitHub shows as the image it holds.
func diagram(root, name, file string) (block string, svgs map[string][]byte, err error) {
	_, data, err := pinned(root, "diagram", name, file)
	if err != nil {
		return "", nil, err
	}
	seq, ok := parseSequence(data)
	if !ok {
		return "", nil, fmt.Errorf("<!-- diagram: %s %s -->: that output holds no captured segment to draw", name, file)
	}
	figs := figures(seq)
	svgs = map[string][]byte{}
	var b strings.Builder
	for i, f := range figs {
		title := fmt.Sprintf("%s: the segments and states it printed, as a sequence diagram", name)
		path := svgName(name, file)
		if len(figs) > 1 {
			title = fmt.Sprintf("%s, figure %d of %d: the segments and states it printed, as a sequence diagram", name, i+1, len(figs))
			path = strings.TrimSuffix(path, ".svg") + fmt.Sprintf("-%d.svg", i+1)
		}
		if f.title != "" {
			title += " (" + f.title + ")"
		}
		if len(f.roles) < len(seq.roles) {
			title += " of " + strings.Join(f.roles, ", ")
		}
		svgs[path] = svgDiagram(title, f)
		fmt.Fprintf(&b, "<figure class=\"diagram\" markdown>\n\n[![%s](%s)](%[2]s)\n\n</figure>\n", title, path)
	}
	return b.String(), svgs, nil
}

// svgName is where the diagram of an output goes, relative to
// chapters/, or, with a number before .svg, each of its figures.
func svgName(name, file string) string {
	if file == "want" {
		return "diagrams/" + name + ".svg"
	}
	return "diagrams/" + name + "-" + file + ".svg"
}

// markdown is the output that testdata/<name>.txtar pins in its file
// "file", as it is: the example printed Markdown, a table for instance.
// Blank lines around it keep the markers out of the Markdown block.
func markdown(root, name, file string) (string, error) {
	_, data, err := pinned(root, "markdown", name, file)
	return "\n" + string(data) + "\n", err
}

// pinned reads file "file" of testdata/<name>.txtar, for a marker of
// the kind given.
func pinned(root, kind, name, file string) (*txtar.Archive, []byte, error) {
	if file == "" {
		return nil, nil, fmt.Errorf("<!-- %s: %s --> names no file of testdata/%[2]s.txtar", kind, name)
	}
	path := filepath.Join(root, "testdata", name+".txtar")
	ar, err := txtar.ParseFile(path)
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(ar.Files, func(f txtar.File) bool { return f.Name == file })
	if i < 0 {
		return nil, nil, fmt.Errorf("%s has no file %q", path, file)
	}
	return ar, ar.Files[i].Data, nil
}

// withoutKernelCondition drops the conditions on the kernel from the
// start of a script's line, as in [!kernel:6.1] cmp stdout want: the
// command the chapter shows is the same on every kernel.
func withoutKernelCondition(f []string) []string {
	for len(f) > 0 && (strings.HasPrefix(f[0], "[kernel:") || strings.HasPrefix(f[0], "[!kernel:")) {
		f = f[1:]
	}
	return f
}

// command finds the exec line whose stdout the script compares with
// file, and writes it as a reader would type it: go run.
func command(script []byte, file string) (string, error) {
	var last []string
	for _, line := range strings.Split(string(script), "\n") {
		cmp := withoutKernelCondition(strings.Fields(line))
		switch {
		case len(cmp) >= 2 && cmp[0] == "exec":
			last = cmp[1:]
		case len(cmp) == 3 && cmp[0] == "cmp" && cmp[1] == "stdout" && cmp[2] == file:
			if last == nil {
				return "", fmt.Errorf("no exec before cmp stdout %s", file)
			}
			return "go run ./examples/" + strings.Join(last, " "), nil
		}
	}
	return "", fmt.Errorf("no cmp stdout %s", file)
}

func fence(lang string, body []byte) string {
	return "```" + lang + "\n" + string(body) + "```\n"
}
