package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// The suites whose kernels readers run: Debian 12 (6.1, and 6.12 from
// its security updates), Debian 13 (6.12) and its backports (6.18, 7.x).
const sourcesList = `deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian-security bookworm-security main
deb http://deb.debian.org/debian trixie main
deb http://deb.debian.org/debian-security trixie-security main
deb http://deb.debian.org/debian trixie-backports main
`

// archive is a private apt state in the cache: apt-get and apt-cache
// read Debian's package lists from it, never the machine's own, so
// nothing on the host changes and nothing is installed.
type archive struct{ dir string }

func (a archive) options() []string {
	return []string{
		"-o", "Dir::Etc::SourceList=" + filepath.Join(a.dir, "sources.list"),
		"-o", "Dir::Etc::SourceParts=/dev/null",
		"-o", "Dir::State::Lists=" + filepath.Join(a.dir, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(a.dir, "cache"),
		"-o", "Dir::State::status=/dev/null",
		"-o", "APT::Sandbox::User=root",
		"-o", "Debug::NoLocking=1",
	}
}

func (a archive) command(tool string, args ...string) *exec.Cmd {
	return exec.Command(tool, append(a.options(), args...)...)
}

// update fetches Debian's package lists into the archive.
func (a archive) update() error {
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(a.dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(a.dir, "sources.list"), []byte(sourcesList), 0o644); err != nil {
		return err
	}
	out, err := a.command("apt-get", "update", "--error-on=any").CombinedOutput()
	if err != nil {
		return fmt.Errorf("cannot read Debian's package lists (is deb.debian.org reachable?): %s", firstError(out, err))
	}
	return nil
}

// firstError is the most telling line of a failed command's output:
// apt's first error (the later ones repeat it for the other suites, or
// sum up), else the last line.
func firstError(out []byte, err error) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "E: ") {
			return strings.TrimSpace(strings.TrimPrefix(l, "E: "))
		}
	}
	if l := lines[len(lines)-1]; l != "" {
		return l
	}
	return err.Error()
}

// A kernel is one Debian kernel package and the release it boots as
// (what uname -r prints).
type kernel struct {
	Spec    string   `json:"spec"`    // what was asked for: 6.1, newest, ...
	Release string   `json:"release"` // 6.1.0-57-amd64
	Package string   `json:"package"` // linux-image-6.1.0-57-amd64
	Version string   `json:"version"` // the package's version, 6.1.192-3
	Debs    []string `json:"debs"`    // the packages that hold its files
}

// releaseRE matches the generic amd64 kernel images, signed or not, by
// release: 6.1.0-57-amd64, 6.12.117+deb12-amd64, 7.3.4+deb13-amd64.
// It leaves out the cloud and realtime flavours, debug symbols and
// meta-packages (linux-image-6.12-amd64).
var releaseRE = regexp.MustCompile(`^linux-image-(\d+\.\d+\.\d+(?:-\d+)?(?:\+deb\d+(?:\.\d+)?)?-amd64)(-unsigned)?$`)

// matches reports whether a release is one a spec asks for. "newest"
// asks for any; a spec with a * is a glob (6.12.*+deb12-amd64);
// otherwise it is the start of the release up to a separator, so 6.1
// means 6.1.0-57-amd64 and not 6.12.
func matches(spec, release string) bool {
	switch {
	case spec == "newest":
		return true
	case strings.Contains(spec, "*"):
		ok, _ := path.Match(spec, release)
		return ok
	case release == spec:
		return true
	}
	rest, ok := strings.CutPrefix(release, spec)
	return ok && strings.ContainsRune(".-+", rune(rest[0]))
}

// resolve finds, for each spec, the newest kernel package that matches
// it, by the package's Debian version.
func (a archive) resolve(specs []string) ([]kernel, error) {
	out, err := a.command("apt-cache", "pkgnames", "linux-image-").Output()
	if err != nil {
		return nil, fmt.Errorf("apt-cache pkgnames: %v", err)
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if m := releaseRE.FindStringSubmatch(n); m != nil && m[2] == "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	stanzas, err := a.show(names)
	if err != nil {
		return nil, err
	}
	var kernels []kernel
	for _, spec := range specs {
		var best *stanza
		for i := range stanzas {
			s := &stanzas[i]
			if !matches(spec, releaseRE.FindStringSubmatch(s.pkg)[1]) {
				continue
			}
			if best == nil || versionLess(best.version, s.version) {
				best = s
			}
		}
		if best == nil {
			return nil, fmt.Errorf("Debian has no kernel package for %q (try a version such as 6.1, 6.12, 6.18, a release such as 6.12.117+deb12-amd64, or newest)", spec)
		}
		k := kernel{Spec: spec, Release: releaseRE.FindStringSubmatch(best.pkg)[1], Package: best.pkg, Version: best.version}
		k.Debs = []string{best.pkg}
		// Since 6.19 the image package only depends on the packages
		// that hold the kernel and its modules.
		for _, dep := range best.depends {
			if dep == "linux-binary-"+k.Release || dep == "linux-modules-"+k.Release {
				k.Debs = append(k.Debs, dep)
			}
		}
		kernels = append(kernels, k)
	}
	return kernels, nil
}

type stanza struct {
	pkg, version string
	depends      []string
}

// show reads the newest version of each package, and what it depends
// on, from apt-cache show.
func (a archive) show(names []string) ([]stanza, error) {
	if len(names) == 0 {
		return nil, errors.New("Debian's package lists hold no amd64 kernel image")
	}
	out, err := a.command("apt-cache", append([]string{"show", "--no-all-versions"}, names...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("apt-cache show: %v", err)
	}
	var all []stanza
	var s stanza
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), ": ")
		switch key {
		case "Package":
			s = stanza{pkg: value}
		case "Version":
			s.version = value
		case "Depends":
			for _, d := range strings.Split(value, ",") {
				s.depends = append(s.depends, strings.Fields(d)[0])
			}
		case "":
			if s.pkg != "" {
				all = append(all, s)
				s = stanza{}
			}
		}
	}
	if s.pkg != "" {
		all = append(all, s)
	}
	return all, sc.Err()
}

// versionLess compares two Debian versions the way dpkg does, by
// asking dpkg.
func versionLess(a, b string) bool {
	return exec.Command("dpkg", "--compare-versions", a, "lt", b).Run() == nil
}

// unpack downloads a kernel's packages and unpacks them, without
// installing anything, into dir, and returns the kernel image's path.
// A kernel unpacked before is used as it is.
func (a archive) unpack(k kernel, dir string) (string, error) {
	if img, err := findImage(dir, k.Release); err == nil {
		return img, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".unpack-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	debs := filepath.Join(tmp, "debs")
	root := filepath.Join(tmp, "root")
	if err := os.Mkdir(debs, 0o755); err != nil {
		return "", err
	}
	get := a.command("apt-get", append([]string{"download"}, k.Debs...)...)
	get.Dir = debs
	if out, err := get.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot download %s from Debian: %s", strings.Join(k.Debs, ", "), firstError(out, err))
	}
	files, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
	for _, f := range files {
		if out, err := exec.Command("dpkg-deb", "-x", f, root).CombinedOutput(); err != nil {
			return "", fmt.Errorf("dpkg-deb -x %s: %s", filepath.Base(f), firstError(out, err))
		}
	}
	// Debian 13's packages put the modules in usr/lib only: give the
	// tree the merged-/usr link that virtme-ng looks for modules by.
	if _, err := os.Stat(filepath.Join(root, "lib")); errors.Is(err, os.ErrNotExist) {
		if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
			return "", err
		}
	}
	if _, err := findImage(root, k.Release); err != nil {
		return "", err
	}
	if err := os.Rename(root, dir); err != nil {
		return "", err
	}
	return findImage(dir, k.Release)
}

// findImage finds the kernel image in an unpacked tree: in boot/ up to
// Debian 13's own kernels, next to the modules after.
func findImage(root, release string) (string, error) {
	for _, p := range []string{
		filepath.Join(root, "boot", "vmlinuz-"+release),
		filepath.Join(root, "usr", "lib", "modules", release, "vmlinuz"),
	} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no kernel image for %s in %s", release, root)
}
