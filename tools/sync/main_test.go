package main

import (
	"os"
	"path/filepath"
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
