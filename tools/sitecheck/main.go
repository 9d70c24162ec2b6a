// Sitecheck tests the built site (mkdocs build --strict writes it to
// site/) the way a reader uses it: it serves the site on 127.0.0.1, opens
// every page in headless Chromium, and fails on a link to a page or an
// anchor that does not exist, an image that did not load, a request that
// failed, a console error, and any request that would leave loopback.
// It saves a full-page screenshot of each page.
//
// Every request the pages make is recorded (the DevTools protocol's
// Network domain), and one to any host but loopback fails the check.
// Beyond that, Chromium runs with a proxy that sitecheck serves on
// loopback, and with every host name mapped to nothing: a request to
// any other host, from a page, a worker or the browser itself, reaches
// sitecheck and is refused, and nothing leaves the machine. Chromium
// calls Google by itself even with every flag against it (component
// updates, accounts); those requests, which no page made, are listed
// as refused and do not fail the check.
//
// Usage:
//
//	mkdocs build --strict && go run ./tools/sitecheck [-site site] [-shots dir]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// config is what the flags set.
type config struct {
	site     string        // the built site
	shots    string        // where the screenshots go; "" for a new temporary folder
	chromium string        // the browser's binary
	timeout  time.Duration // for one page
	verbose  bool          // print every request
	out      io.Writer     // the log
}

func main() {
	cfg := config{out: os.Stdout}
	flag.StringVar(&cfg.site, "site", "site", "the built site")
	flag.StringVar(&cfg.shots, "shots", "", "where the screenshots go (default: a new temporary folder, printed)")
	flag.StringVar(&cfg.chromium, "chromium", defaultChromium(), "the Chromium binary")
	flag.DurationVar(&cfg.timeout, "timeout", time.Minute, "give up on a page after this long")
	flag.BoolVar(&cfg.verbose, "v", false, "print every request the pages make")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: sitecheck [-site dir] [-shots dir] [-chromium path]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "sitecheck: takes no arguments, got %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sitecheck:", err)
		os.Exit(1)
	}
}

// problems collects what went wrong, from the browser's events and
// from the two servers, which all run on other goroutines.
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.list)
}

// A page as the browser saw it once loaded.
type page struct {
	Links  []string `json:"links"`
	IDs    []string `json:"ids"`
	Images []struct {
		Src    string `json:"src"`
		Loaded bool   `json:"loaded"`
	} `json:"images"`
}

// inspect runs in the page once it has loaded, and once its images and
// fonts are ready.
const inspect = `(async () => {
	await document.fonts.ready;
	await Promise.all(Array.from(document.images, i => i.decode().catch(() => {})));
	return {
		links: Array.from(document.querySelectorAll("a[href]"), a => a.href),
		ids: Array.from(document.querySelectorAll("[id]"), e => e.id),
		images: Array.from(document.images, i => ({src: i.currentSrc || i.src, loaded: i.complete && i.naturalWidth > 0})),
	};
})()`

func run(cfg config) error {
	if _, err := os.Stat(filepath.Join(cfg.site, "index.html")); err != nil {
		return fmt.Errorf("no built site in %s (run mkdocs build --strict first): %v", cfg.site, err)
	}
	exe, err := exec.LookPath(cfg.chromium)
	if err != nil {
		return fmt.Errorf("%v: install Chromium (apt-get install chromium) or name it with -chromium", err)
	}
	pages, err := findPages(cfg.site)
	if err != nil {
		return err
	}
	shots := cfg.shots
	if shots == "" {
		if shots, err = os.MkdirTemp("", "sitecheck-shots-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		return err
	}
	var bad problems

	// The site, on loopback. Every request it serves is logged; one
	// that fails is a problem, whoever made it.
	site, err := serve(logged(&bad, "site", http.FileServer(http.Dir(cfg.site))))
	if err != nil {
		return err
	}
	defer site.Close()
	base := "http://" + site.Addr().String()

	// The proxy the browser must use for every other host: it refuses
	// and reports each request.
	var refused problems
	proxy, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refused.add("%s %s", r.Method, r.RequestURI)
		http.Error(w, "sitecheck: no request may leave loopback", http.StatusForbidden)
	}))
	if err != nil {
		return err
	}
	defer proxy.Close()

	profile, err := os.MkdirTemp("", "sitecheck-profile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Fewer of Chromium's own calls home, which the flags above
		// leave on: network time, autofill, optimization hints. Two
		// remain that no flag we found stops (a component update check
		// to update.googleapis.com, and the account reconcilor's
		// ListAccounts to accounts.google.com); the proxy refuses them.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,AutofillServerCommunication,OptimizationHints,MediaRouter,NetworkTimeServiceQuerying,CertificateTransparencyComponentUpdater"),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("disable-field-trial-config", true),
		chromedp.Flag("no-service-autorun", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		// Loopback bypasses a proxy by default; everything else goes
		// to ours. No name is looked up in DNS either.
		chromedp.ProxyServer("http://"+proxy.Addr().String()),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // start the browser
		return fmt.Errorf("start %s: %v", exe, err)
	}

	current := "" // the page being loaded, for the events' messages
	var mu sync.Mutex
	at := func() string { mu.Lock(); defer mu.Unlock(); return current }
	requests := map[network.RequestID]string{}
	count := 0
	err = chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			mu.Lock()
			count++
			mu.Unlock()
			requests[ev.RequestID] = ev.Request.URL
			if cfg.verbose {
				fmt.Fprintf(cfg.out, "     request %s\n", ev.Request.URL)
			}
			if !local(ev.Request.URL) {
				bad.add("%s: request leaving loopback: %s", at(), ev.Request.URL)
			}
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				bad.add("%s: %s: HTTP %d", at(), ev.Response.URL, ev.Response.Status)
			}
		case *network.EventLoadingFailed:
			bad.add("%s: request failed: %s: %s", at(), requests[ev.RequestID], ev.ErrorText)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					var str string
					if json.Unmarshal(a.Value, &str) == nil {
						args = append(args, str)
					} else {
						args = append(args, string(a.Value)+a.Description)
					}
				}
				bad.add("%s: console.%s: %s", at(), ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			bad.add("%s: uncaught exception: %s (%s:%d)", at(), msg, d.URL, d.LineNumber+1)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				bad.add("%s: console error: %s (%s)", at(), ev.Entry.Text, ev.Entry.URL)
			}
		}
	})
	if err != nil {
		return err
	}

	seen := map[string]*page{}
	fmt.Fprintf(cfg.out, "sitecheck: %d pages of %s, served on %s; screenshots in %s\n", len(pages), cfg.site, base, shots)
	for _, p := range pages {
		mu.Lock()
		current = p
		mu.Unlock()
		before := len(bad.all())
		pctx, cancelPage := context.WithTimeout(ctx, cfg.timeout)
		got, shot, err := visit(pctx, base+p)
		cancelPage()
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		seen[p] = got
		for _, img := range got.Images {
			if !img.Loaded {
				bad.add("%s: image did not load: %s", p, img.Src)
			}
		}
		name := strings.Trim(strings.ReplaceAll(p, "/", "_"), "_")
		if name == "" {
			name = "index"
		}
		file := filepath.Join(shots, name+".png")
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			return err
		}
		status := "ok"
		if len(bad.all()) > before {
			status = "FAIL"
		}
		fmt.Fprintf(cfg.out, "%-4s %s: %d images, %d links; %s\n", status, p, len(got.Images), len(got.Links), file)
	}
	mu.Lock()
	fmt.Fprintf(cfg.out, "sitecheck: the pages made %d requests\n", count)
	mu.Unlock()

	// Links: to a page that exists (and its anchor), or a file the
	// site serves. Links to other sites are listed, not followed.
	external := map[string]bool{}
	for _, p := range pages {
		for _, link := range seen[p].Links {
			u, err := url.Parse(link)
			if err != nil {
				bad.add("%s: bad link %q: %v", p, link, err)
				continue
			}
			if u.Scheme+"://"+u.Host != base {
				if u.Scheme == "http" || u.Scheme == "https" {
					external[link] = true
				}
				continue
			}
			target, ok := seen[u.Path]
			if !ok {
				if err := exists(cfg.site, u.Path); err != nil {
					bad.add("%s: broken link %s: %v", p, link, err)
				}
				continue
			}
			if u.Fragment != "" && !slices.Contains(target.IDs, u.Fragment) {
				bad.add("%s: broken link %s: no id %q on %s", p, link, u.Fragment, u.Path)
			}
		}
	}
	for _, link := range slices.Sorted(maps.Keys(external)) {
		fmt.Fprintln(cfg.out, "external link, not followed:", link)
	}

	for _, r := range refused.all() {
		fmt.Fprintln(cfg.out, "refused by the proxy, so nothing left this machine:", r)
	}
	if list := bad.all(); len(list) > 0 {
		return errors.New(strings.Join(list, "\n  "))
	}
	fmt.Fprintln(cfg.out, "sitecheck: every page loaded, no broken link or image, no failed request, no console error, nothing left loopback")
	return nil
}

// visit loads the page, inspects it and takes a full-page screenshot.
func visit(ctx context.Context, u string) (*page, []byte, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		return nil, nil, err
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](inspect, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, nil, err
	}
	var p page
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, err
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	return &p, shot, err
}

// findPages lists the site's pages as URL paths ("/", "/01-read-returns-0/").
// MkDocs's 404.html is left out: it is served for missing pages only.
func findPages(dir string) ([]string, error) {
	var pages []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "404.html" {
			return err
		}
		u := "/" + filepath.ToSlash(rel)
		if path.Base(u) == "index.html" {
			u = strings.TrimSuffix(u, "index.html")
		}
		pages = append(pages, u)
		return nil
	})
	slices.Sort(pages)
	return pages, err
}

// serve serves h on 127.0.0.1, on a port the kernel picks.
func serve(h http.Handler) (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go http.Serve(l, h)
	return l, nil
}

// logged reports every request h answers with an error status.
func logged(bad *problems, name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.status >= 400 {
			bad.add("%s server: %s %s: HTTP %d", name, r.Method, r.URL, sw.status)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// local says whether a URL the browser requests stays on this machine.
func local(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "data", "blob", "about", "chrome", "chrome-error":
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// exists says whether the site serves a file at the URL path p, as
// http.FileServer would: a folder by its index.html.
func exists(site, p string) error {
	f := filepath.Join(site, filepath.FromSlash(path.Clean("/"+p)))
	if strings.HasSuffix(p, "/") {
		f = filepath.Join(f, "index.html")
	}
	st, err := os.Stat(f)
	if err == nil && st.IsDir() {
		_, err = os.Stat(filepath.Join(f, "index.html"))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no such file in the site")
	}
	return err
}

// defaultChromium is Debian's Chromium binary itself, not its launcher
// /usr/bin/chromium, which adds flags that make the browser fetch
// extensions and sets Google API keys.
func defaultChromium() string {
	const debian = "/usr/lib/chromium/chromium"
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	return "chromium"
}
