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

// A drawing 600 px wide with 12 px text, all of it inside, and one
// whose text runs out of it on the left.
const (
	wide    = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="40" viewBox="0 0 600 40"><text x="10" y="20" font-size="12" font-family="monospace">inside</text></svg>`
	spilled = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40" viewBox="0 0 200 40"><text x="10" y="20" font-size="12" text-anchor="middle" font-family="monospace">outside on the left</text></svg>`
)

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
<img src="dot.svg" alt="dot">
<div style="overflow-x: auto"><a href="wide.svg"><img src="wide.svg" alt="a diagram"></a></div>`)
	write(t, root, "page/index.html", `<!doctype html><title>page</title><link rel="icon" href="../dot.svg"><h2 id="part">part</h2><a href="../">home</a>`)
	write(t, root, "dot.svg", dot)
	write(t, root, "wide.svg", wide)
	out, err := browser(t, root)
	if err != nil {
		t.Fatalf("good site: %v\n%s", err, out)
	}
	for _, want := range []string{
		"ok   / at 1280 px: 2 images, 5 links, 2 diagrams (smallest text 12.0 px, widest 600 px, 0 scroll sideways)",
		"ok   / at 390 px: 2 images, 5 links, 2 diagrams (smallest text 12.0 px, widest 600 px, 1 scroll sideways)",
		"ok   /page/ at 390 px: 0 images, 1 links",
		"external link, not followed: https://example.com/",
	} {
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
<img src="wide.svg" alt="squeezed" style="width: 300px"> <img src="spilled.svg" alt="spilled">
<div style="width: 2000px">too wide for a phone</div>
<script>console.error("boom"); fetch("http://192.0.2.1/x").catch(() => {});</script>`)
	write(t, root, "page/index.html", `<!doctype html><title>page</title><link rel="icon" href="../dot.svg">
<script>throw new Error("thrown")</script>`)
	write(t, root, "dot.svg", dot)
	write(t, root, "wide.svg", wide)
	write(t, root, "spilled.svg", spilled)
	out, err := browser(t, root)
	if err == nil {
		t.Fatalf("bad site passed:\n%s", out)
	}
	for _, want := range []string{
		`/missing/: no such file in the site`,
		`no id "nowhere" on /page/`,
		`/ at 1280 px: image did not load: http://127.0.0.1`,
		`missing.png: HTTP 404`,
		`/ at 1280 px: console.error: boom`,
		`/ at 390 px: request leaving loopback: http://192.0.2.1/x`,
		`/page/ at 1280 px: uncaught exception: Uncaught Error: thrown`,
		`wide.svg is shown at 300 of its 600 px: its smallest text is 6.0 px, under 11 px`,
		`spilled.svg: text outside the drawing: outside on the left`,
		`/ at 390 px: the page scrolls sideways: 2`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in the failure:\n%v", want, err)
		}
	}
}
