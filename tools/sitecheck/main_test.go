package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLocal(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8000/x/":              true,
		"http://[::1]:8000/":                    true,
		"data:image/svg+xml;charset=utf-8,<svg": true,
		"https://unpkg.com/mermaid.min.js":      false,
		"http://localhost:8000/":                false, // a name: resolved by someone
		"http://192.0.2.1/":                     false,
		"wss://example.com/":                    false,
	} {
		if got := local(u); got != want {
			t.Errorf("local(%q) = %v, want %v", u, got, want)
		}
	}
}

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

const dot = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle cx="5" cy="5" r="4"/></svg>`

func TestFindPages(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"index.html", "404.html", "a/index.html", "b/c/index.html", "d.html", "x.svg"} {
		write(t, root, f, "")
	}
	got, err := findPages(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/", "/a/", "/b/c/", "/d.html"}; !slices.Equal(got, want) {
		t.Errorf("pages %q, want %q", got, want)
	}
}

// browser runs sitecheck on the site in root, with Chromium.
func browser(t *testing.T, root string) (string, error) {
	t.Helper()
	exe := defaultChromium()
	if _, err := exec.LookPath(exe); err != nil {
		t.Skip("no Chromium (apt-get install chromium)")
	}
	var out bytes.Buffer
	err := run(config{site: root, shots: t.TempDir(), chromium: exe, timeout: time.Minute, out: &out})
	return out.String(), err
}

func TestGoodSite(t *testing.T) {
	root := t.TempDir()
	write(t, root, "index.html", `<!doctype html><title>home</title><link rel="icon" href="dot.svg">
<p><a href="page/">page</a> <a href="page/#part">part</a> <a href="dot.svg">file</a> <a href="https://example.com/">away</a>
<img src="dot.svg" alt="dot">`)
	write(t, root, "page/index.html", `<!doctype html><title>page</title><link rel="icon" href="../dot.svg"><h2 id="part">part</h2><a href="../">home</a>`)
	write(t, root, "dot.svg", dot)
	out, err := browser(t, root)
	if err != nil {
		t.Fatalf("good site: %v\n%s", err, out)
	}
	for _, want := range []string{"ok   /: 1 images, 4 links", "ok   /page/: 0 images, 1 links", "external link, not followed: https://example.com/"} {
		if !strings.Contains(out, want) {
			t.Errorf("log has no %q:\n%s", want, out)
		}
	}
}

// Every kind of fault fails the check, and is named.
func TestBadSite(t *testing.T) {
	root := t.TempDir()
	write(t, root, "index.html", `<!doctype html><title>home</title><link rel="icon" href="dot.svg">
<p><a href="missing/">gone</a> <a href="page/#nowhere">no anchor</a>
<img src="missing.png" alt="gone">
<script>console.error("boom"); fetch("http://192.0.2.1/x").catch(() => {});</script>`)
	write(t, root, "page/index.html", `<!doctype html><title>page</title><link rel="icon" href="../dot.svg">
<script>throw new Error("thrown")</script>`)
	write(t, root, "dot.svg", dot)
	out, err := browser(t, root)
	if err == nil {
		t.Fatalf("bad site passed:\n%s", out)
	}
	for _, want := range []string{
		`/missing/: no such file in the site`,
		`no id "nowhere" on /page/`,
		`/: image did not load: http://127.0.0.1`,
		`missing.png: HTTP 404`,
		`/: console.error: boom`,
		`/: request leaving loopback: http://192.0.2.1/x`,
		`/page/: uncaught exception: Uncaught Error: thrown`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in the failure:\n%v", want, err)
		}
	}
}
