package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReleaseOfPackage(t *testing.T) {
	for name, want := range map[string]string{
		"linux-image-6.1.0-57-amd64":             "6.1.0-57-amd64",
		"linux-image-6.12.117+deb12-amd64":       "6.12.117+deb12-amd64",
		"linux-image-6.12.115+deb13.1-amd64":     "6.12.115+deb13.1-amd64",
		"linux-image-7.3.4+deb13-amd64":          "7.3.4+deb13-amd64",
		"linux-image-6.12-amd64":                 "", // meta-package
		"linux-image-amd64":                      "",
		"linux-image-6.1.0-57-cloud-amd64":       "",
		"linux-image-6.1.0-57-rt-amd64":          "",
		"linux-image-6.12.117+deb12-amd64-dbg":   "",
		"linux-image-6.1.0-57-amd64-unsigned":    "6.1.0-57-amd64",
		"linux-image-6.12-cloud-amd64-dbg":       "",
		"linux-image-6.18.15+deb13-cloud-amd64":  "",
		"linux-image-6.18.15+deb13-rt-amd64-dbg": "",
	} {
		got := ""
		if m := releaseRE.FindStringSubmatch(name); m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("release of %s = %q, want %q", name, got, want)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		spec, release string
		want          bool
	}{
		{"6.1", "6.1.0-57-amd64", true},
		{"6.1", "6.12.117+deb12-amd64", false},
		{"6.12", "6.12.117+deb12-amd64", true},
		{"6.12", "6.12.118+deb13-amd64", true},
		{"6.12.*+deb12-amd64", "6.12.117+deb12-amd64", true},
		{"6.12.*+deb12-amd64", "6.12.118+deb13-amd64", false},
		{"6.18", "6.18.15+deb13-amd64", true},
		{"7", "7.3.4+deb13-amd64", true},
		{"7.3.4+deb13-amd64", "7.3.4+deb13-amd64", true},
		{"newest", "7.3.4+deb13-amd64", true},
	} {
		if got := matches(c.spec, c.release); got != c.want {
			t.Errorf("matches(%q, %q) = %v, want %v", c.spec, c.release, got, c.want)
		}
	}
}

// What is missing is said in one sentence, with where to get it.
func TestMissingSaysWhatInOneSentence(t *testing.T) {
	all := func(string) (string, error) { return "/usr/bin/x", nil }
	if m := missing(all); m != "" {
		t.Errorf("with everything present: %q", m)
	}
	noQemu := func(p string) (string, error) {
		if p == "qemu-system-x86_64" || p == "vng" {
			return "", errors.New("not found")
		}
		return "/usr/bin/" + p, nil
	}
	m := missing(noQemu)
	if !strings.HasPrefix(m, "cannot boot another kernel without qemu-system-x86_64 (qemu-system-x86); vng (virtme-ng, in Debian 13 and Ubuntu") ||
		strings.Contains(m, "\n") {
		t.Errorf("without qemu and virtme-ng: %q", m)
	}
}

// Runs that agree are one outcome; a race shows as several.
func TestOutcomes(t *testing.T) {
	same := run{Scripts: map[string]result{"a": {Status: "pass"}}}
	other := run{Scripts: map[string]result{"a": {Status: "differs", Script: "x"}}}
	failed := run{Scripts: map[string]result{"a": {Status: "fail", Log: "took 1s"}}}
	failedAgain := run{Scripts: map[string]result{"a": {Status: "fail", Log: "took 2s"}}}
	o, n := outcomesOf([]run{same, other, same, failed, failedAgain}, "a")
	if len(o) != 3 || n[0] != 2 || n[1] != 1 || n[2] != 2 {
		t.Errorf("outcomes %v, counts %v; want pass ×2, differs ×1, fail ×2", o, n)
	}
}

// A failed apt says why in its first error line.
func TestFirstError(t *testing.T) {
	out := "Err:1 http://deb.debian.org/debian bookworm InRelease\n" +
		"  Temporary failure resolving 'deb.debian.org'\n" +
		"E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'\n" +
		"E: Some index files failed to download. They have been ignored, or old ones used instead.\n"
	want := "Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'"
	if got := firstError([]byte(out), errors.New("exit status 100")); got != want {
		t.Errorf("firstError = %q, want %q", got, want)
	}
	if got := firstError([]byte("dpkg-deb: error: not a Debian archive\n"), nil); got != "dpkg-deb: error: not a Debian archive" {
		t.Errorf("firstError without E: = %q", got)
	}
}

// The appendix is made from its record; -check catches a page edited
// by hand and a script changed since the runs.
func TestAppendixCheck(t *testing.T) {
	scripts := map[string][]byte{"a": []byte("-- want --\nx\n"), "b": []byte("-- want --\ny\n")}
	b := book{scripts: scripts}
	runs := []kernelRun{{
		Kernel: kernel{Release: "6.1.0-57-amd64", Package: "linux-image-6.1.0-57-amd64", Version: "6.1.192-3"},
		Accel:  "tcg",
		Pinned: digests(scripts),
		Runs: []run{{Scripts: map[string]result{
			"a": {Status: "pass"},
			"b": {Status: "differs", Script: "-- want --\nz\n"},
		}}},
	}}
	path := filepath.Join(t.TempDir(), "appendix-kernels.md")
	if err := writeAppendix(path, b, runs); err != nil {
		t.Fatal(err)
	}
	if err := checkAppendix(path, scripts); err != nil {
		t.Fatalf("check right after -write: %v", err)
	}
	page, _ := os.ReadFile(path)
	for _, want := range []string{"| `a` | same |", "| `b` | **differs** |", "## `b` on 6.1.0-57-amd64", "+z"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	os.WriteFile(path, append(page, "typed\n"...), 0o644)
	if err := checkAppendix(path, scripts); err == nil || !strings.Contains(err.Error(), "edited by hand") {
		t.Errorf("check of an edited page: %v", err)
	}
	changed := map[string][]byte{"a": scripts["a"], "b": []byte("-- want --\nw\n")}
	if err := checkAppendix(path, changed); err == nil || !strings.Contains(err.Error(), "testdata/ changed (b)") {
		t.Errorf("check after a script changed: %v", err)
	}
	runs[0].Pinned = digests(changed)
	if err := writeAppendix(path, b, runs); err == nil {
		t.Error("-write from runs made with other scripts succeeded")
	}
}

// A later call's results replace an earlier one's for the scripts it
// ran, on the same kernel; the others are kept, with the digests they
// were compared with.
func TestMergeRuns(t *testing.T) {
	k := kernel{Release: "6.1.0-57-amd64"}
	first := kernelRun{Kernel: k, Pinned: map[string]string{"a": "1", "b": "1"},
		Runs: []run{{Scripts: map[string]result{"a": {Status: "pass"}, "b": {Status: "fail"}}}}}
	again := kernelRun{Kernel: k, Pinned: map[string]string{"b": "2"},
		Runs: []run{{Scripts: map[string]result{"b": {Status: "pass"}}}}}
	other := kernelRun{Kernel: kernel{Release: "6.12.118+deb13-amd64"}, Runs: []run{{}}}
	got, err := mergeRuns([]kernelRun{first, other, again})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d kernels, want 2", len(got))
	}
	if p := got[0].Pinned; p["a"] != "1" || p["b"] != "2" {
		t.Errorf("digests %v, want a 1, b 2", p)
	}
	if s := got[0].Runs[0].Scripts; s["a"].Status != "pass" || s["b"].Status != "pass" {
		t.Errorf("results %v, want both pass", s)
	}
	if first.Pinned["b"] != "1" || first.Runs[0].Scripts["b"].Status != "fail" {
		t.Error("mergeRuns changed its input")
	}
	again.Runs = append(again.Runs, run{})
	if _, err := mergeRuns([]kernelRun{first, again}); err == nil {
		t.Error("runs made with different -n were joined")
	}
}

// With -confirm, a script that differed once and was the same as pinned
// in every run of the second boot is a race and does not fail the
// call; one that is not the same there either does.
func TestConfirm(t *testing.T) {
	b := book{scripts: map[string][]byte{"a": nil, "b": nil, "c": nil}}
	kr := kernelRun{Kernel: kernel{Release: "6.1.0-57-amd64"},
		Runs: []run{{Scripts: map[string]result{
			"a": {Status: "pass"}, "b": {Status: "differs", Script: "x"}, "c": {Status: "fail"},
		}}}}
	if got := strings.Join(notSame(b, kr), " "); got != "b c" {
		t.Errorf("notSame = %q, want b c", got)
	}
	out, err := os.CreateTemp(t.TempDir(), "report")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	race := []run{{Scripts: map[string]result{"b": {Status: "pass"}, "c": {Status: "pass"}}},
		{Scripts: map[string]result{"b": {Status: "pass"}, "c": {Status: "pass"}}}}
	kr.Confirm = race
	if !report(out, b, kr) {
		t.Error("scripts the same as pinned in every confirming run failed the call")
	}
	kr.Confirm = []run{race[0], {Scripts: map[string]result{"b": {Status: "pass"}, "c": {Status: "fail"}}}}
	if report(out, b, kr) {
		t.Error("a script that failed again in a confirming run passed the call")
	}
	kr.Confirm = nil
	if report(out, b, kr) {
		t.Error("without confirming runs, a difference passed the call")
	}
}

// The page says which examples printed the pinned output in every run
// of a second boot.
func TestAppendixAgain(t *testing.T) {
	scripts := map[string][]byte{"a": []byte("x"), "b": []byte("y")}
	runs := []kernelRun{{
		Kernel: kernel{Release: "6.1.0-57-amd64"}, Pinned: digests(scripts),
		Runs: []run{
			{Scripts: map[string]result{"a": {Status: "pass"}, "b": {Status: "fail"}}},
			{Scripts: map[string]result{"a": {Status: "pass"}, "b": {Status: "pass"}}},
		},
		Confirm: []run{{Scripts: map[string]result{"b": {Status: "pass"}}}, {Scripts: map[string]result{"b": {Status: "pass"}}}},
	}}
	rec, err := newRecord(book{scripts: scripts}, runs)
	if err != nil {
		t.Fatal(err)
	}
	p := page(rec)
	for _, want := range []string{"| `a` | same |", "| `b` | varies (race), then same in 2 more |", "*then same in N more*"} {
		if !strings.Contains(p, want) {
			t.Errorf("the page lacks %q:\n%s", want, p)
		}
	}
}
