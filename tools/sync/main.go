// Sync fills the generated blocks of the chapters from the examples'
// sources and from the outputs the tests pin, so that no code or
// output in the book is typed by hand.
//
// A chapter marks a block with an HTML comment, and sync rewrites
// everything up to the next <!-- end -->:
//
//	<!-- code: read-after-close -->       examples/read-after-close/main.go
//	<!-- output: read-after-close want --> file "want" of testdata/read-after-close.txtar,
//	                                       after the command that runs the example
//	<!-- markdown: errmap want -->         file "want" of testdata/errmap.txtar as it
//	                                       is, for an example that prints Markdown
//
// Usage:
//
//	go run ./tools/sync          rewrite the chapters
//	go run ./tools/sync -check   change nothing; fail if a chapter is out of date
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
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

func run(root string, check bool) error {
	chapters, err := filepath.Glob(filepath.Join(root, "chapters", "*.md"))
	if err != nil {
		return err
	}
	var stale, problems []string
	shown := map[string]bool{}
	for _, path := range chapters {
		old, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		new, names, err := fill(root, old)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		for _, n := range names {
			shown[n] = true
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
	if len(stale) > 0 {
		problems = append(problems, fmt.Sprintf("out of date: %s (run go run ./tools/sync)", strings.Join(stale, ", ")))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n  "))
	}
	return nil
}

var marker = regexp.MustCompile(`(?m)^<!-- (code|output|markdown): ([a-z0-9-]+)(?: ([^ ]+))? -->\n`)

const end = "<!-- end -->\n"

// fill returns the chapter with every marked block regenerated, and
// the examples whose code it shows.
func fill(root string, md []byte) ([]byte, []string, error) {
	var out bytes.Buffer
	var names []string
	rest := md
	for {
		loc := marker.FindSubmatchIndex(rest)
		if loc == nil {
			out.Write(rest)
			return out.Bytes(), names, nil
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
			return nil, nil, fmt.Errorf("<!-- %s: %s --> has no %q after it", kind, name, strings.TrimSpace(end))
		}
		rest = rest[i+len(end):]

		var block string
		var err error
		switch kind {
		case "code":
			block, err = code(root, name)
			names = append(names, name)
		case "output":
			block, err = output(root, name, file)
		case "markdown":
			block, err = pinned(root, name, file)
		}
		if err != nil {
			return nil, nil, err
		}
		out.WriteString(block)
		out.WriteString(end)
	}
}

func code(root, name string) (string, error) {
	src, err := os.ReadFile(filepath.Join(root, "examples", name, "main.go"))
	if err != nil {
		return "", err
	}
	return fence("go", src), nil
}

// output is the command that runs the example and the output that
// testdata/<name>.txtar pins in its file "file".
func output(root, name, file string) (string, error) {
	ar, data, err := pinnedFile(root, name, file)
	if err != nil {
		return "", err
	}
	run, err := command(ar.Comment, file)
	if err != nil {
		return "", fmt.Errorf("testdata/%s.txtar: %v", name, err)
	}
	return fmt.Sprintf("```console\n$ %s\n```\n\n", run) + fence("text", data), nil
}

// pinned is the output that testdata/<name>.txtar pins in its file
// "file", as it is: the example printed Markdown, a table for instance.
// Blank lines around it keep the markers out of the Markdown block.
func pinned(root, name, file string) (string, error) {
	_, data, err := pinnedFile(root, name, file)
	return "\n" + string(data) + "\n", err
}

func pinnedFile(root, name, file string) (*txtar.Archive, []byte, error) {
	if file == "" {
		return nil, nil, fmt.Errorf("the marker for %s names no file of testdata/%[1]s.txtar", name)
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

// command finds the exec line whose stdout the script compares with
// file, and writes it as a reader would type it: go run, with sudo
// when the script needs root.
func command(script []byte, file string) (string, error) {
	var last []string
	sudo := ""
	for _, line := range strings.Split(string(script), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "[!root]" && f[1] == "skip":
			sudo = "-exec sudo "
		case len(f) >= 2 && f[0] == "exec":
			last = f[1:]
		case len(f) == 3 && f[0] == "cmp" && f[1] == "stdout" && f[2] == file:
			if last == nil {
				return "", fmt.Errorf("no exec before cmp stdout %s", file)
			}
			if last[0] == "setpriv" {
				// The script drops root to show what a user sees:
				// a user types the command without sudo.
				for len(last) > 0 && (last[0] == "setpriv" || strings.HasPrefix(last[0], "-") || isNumber(last[0])) {
					last = last[1:]
				}
				sudo = ""
			}
			return "go run " + sudo + "./examples/" + strings.Join(last, " "), nil
		}
	}
	return "", fmt.Errorf("no cmp stdout %s", file)
}

func fence(lang string, body []byte) string {
	return "```" + lang + "\n" + string(body) + "```\n"
}

func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
