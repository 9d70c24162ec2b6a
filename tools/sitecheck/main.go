// Sitecheck tests the built site (mkdocs build --strict writes it to
// site/) the way a reader uses it: it serves the site on 127.0.0.1, opens
// every page in headless Chromium, and fails on a link to a page or an
// anchor that does not exist, an image that did not load, a request that
// failed, a console error, and any request that would leave loopback.
// It opens each page twice, in a window 1280 px wide and in one 390 px
// wide (a phone's), and saves a full-page screenshot of each.
//
// At both widths it fails on a page that scrolls sideways as a whole,
// and on an SVG image (the diagrams) that a reader cannot read: one
// whose smallest text is drawn under 11 px, or cut off by the column
// with no way to scroll to it, or any of whose text lies outside its
// drawing. It measures these in the browser: the drawing is put into
// the page inline at the size the image is shown, and each text's
// computed font size, times the drawing's scale on screen, is the size
// the reader sees; its getBBox is compared with the viewBox. At 390 px
// a diagram may also be smaller on the page if a tap opens it alone
// (a link to the drawing itself) at a size that is readable.
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
	Window      int       `json:"window"`    // the page's width, px
	PageWidth   int       `json:"pageWidth"` // what it would scroll to
	Drawings    []drawing `json:"drawings"`  // its SVG images
	ShotContent []byte    `json:"-"`         // the screenshot
}

// A drawing is an SVG image as shown on a page.
type drawing struct {
	Src      string   `json:"src"`
	Shown    float64  `json:"shown"`    // the image's width on the page, px
	Natural  float64  `json:"natural"`  // the drawing's own width
	Column   float64  `json:"column"`   // the width it has: its scroller's, or the window's
	Smallest float64  `json:"smallest"` // its smallest text on the page, px; 0 with no text
	Scrolls  bool     `json:"scrolls"`  // inside an element that scrolls sideways
	Opens    bool     `json:"opens"`    // a link to the drawing itself around it
	Outside  []string `json:"outside"`  // texts outside the viewBox
}

// legible is the smallest text, in px, that a diagram may show.
const legible = 11

// widths are the windows each page is opened in: a laptop's and a
// phone's.
var widths = []int64{1280, 390}

// inspect runs in the page once it has loaded, and once its images and
// fonts are ready. Its value is the last expression's.
const inspect = `// Each SVG image, put into the page inline at the size it is shown, so
// that its texts can be measured: their font size on screen, and their
// box against the viewBox.
async function drawings() {
	const out = [];
	for (const img of document.images) {
		const src = img.currentSrc || img.src;
		const shown = img.getBoundingClientRect().width;
		if (!new URL(src).pathname.endsWith(".svg") || !img.naturalWidth || !shown) continue;
		const doc = new DOMParser().parseFromString(await (await fetch(src)).text(), "image/svg+xml");
		const svg = document.importNode(doc.documentElement, true);
		svg.setAttribute("width", shown);
		svg.setAttribute("height", shown * img.naturalHeight / img.naturalWidth);
		const box = document.createElement("div");
		box.style.cssText = "position: absolute; left: 0; top: 0; visibility: hidden";
		box.append(svg);
		document.body.append(box);
		const vb = svg.viewBox.baseVal;
		let smallest = 0;
		const outside = [];
		for (const t of svg.querySelectorAll("text")) {
			const px = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
			smallest = smallest ? Math.min(smallest, px) : px;
			const b = t.getBBox();
			if (vb && vb.width && (b.x < vb.x || b.y < vb.y || b.x + b.width > vb.x + vb.width || b.y + b.height > vb.y + vb.height)) {
				outside.push(t.textContent + " (" + [b.x, b.x + b.width].map(Math.round).join("..") + " of " + vb.width + ")");
			}
		}
		box.remove();
		let scroller = img.parentElement;
		while (scroller && scroller !== document.body && !["auto", "scroll"].includes(getComputedStyle(scroller).overflowX)) {
			scroller = scroller.parentElement;
		}
		const scrolls = scroller && scroller !== document.body;
		const link = img.closest("a[href]");
		out.push({
			src, shown, smallest, outside, scrolls,
			natural: img.naturalWidth,
			column: scrolls ? scroller.clientWidth : document.documentElement.clientWidth,
			opens: !!link && new URL(link.href).pathname === new URL(src).pathname,
		});
	}
	return out;
}

(async () => {
	await document.fonts.ready;
	await Promise.all(Array.from(document.images, i => i.decode().catch(() => {})));
	return {
		links: Array.from(document.querySelectorAll("a[href]"), a => a.href),
		ids: Array.from(document.querySelectorAll("[id]"), e => e.id),
		images: Array.from(document.images, i => ({src: i.currentSrc || i.src, loaded: i.complete && i.naturalWidth > 0})),
		window: document.documentElement.clientWidth,
		pageWidth: document.documentElement.scrollWidth,
		drawings: await drawings(),
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
	fmt.Fprintf(cfg.out, "sitecheck: %d pages of %s at %v px, served on %s; screenshots in %s\n", len(pages), cfg.site, widths, base, shots)
	for _, p := range pages {
		for _, width := range widths {
			mu.Lock()
			current = fmt.Sprintf("%s at %d px", p, width)
			mu.Unlock()
			before := len(bad.all())
			pctx, cancelPage := context.WithTimeout(ctx, cfg.timeout)
			got, err := visit(pctx, base+p, width)
			cancelPage()
			if err != nil {
				return fmt.Errorf("%s at %d px: %v", p, width, err)
			}
			if width == widths[0] {
				seen[p] = got
			}
			for _, img := range got.Images {
				if !img.Loaded {
					bad.add("%s at %d px: image did not load: %s", p, width, img.Src)
				}
			}
			summary := legibility(&bad, fmt.Sprintf("%s at %d px", p, width), got)
			name := strings.Trim(strings.ReplaceAll(p, "/", "_"), "_")
			if name == "" {
				name = "index"
			}
			file := filepath.Join(shots, fmt.Sprintf("%s-%d.png", name, width))
			if err := os.WriteFile(file, got.ShotContent, 0o644); err != nil {
				return err
			}
			status := "ok"
			if len(bad.all()) > before {
				status = "FAIL"
			}
			fmt.Fprintf(cfg.out, "%-4s %s at %d px: %d images, %d links%s; %s\n", status, p, width, len(got.Images), len(got.Links), summary, file)
		}
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

// visit loads the page in a window width px wide, inspects it and
// takes a full-page screenshot.
func visit(ctx context.Context, u string, width int64) (*page, error) {
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(u)); err != nil {
		return nil, err
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](inspect, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, err
	}
	var p page
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	p.ShotContent, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	return &p, err
}

// legibility adds a problem for a page that scrolls sideways as a
// whole and for each drawing on it that a reader cannot read there,
// and sums up what it measured.
func legibility(bad *problems, at string, p *page) string {
	if p.PageWidth > p.Window {
		bad.add("%s: the page scrolls sideways: %d px wide in a %d px window", at, p.PageWidth, p.Window)
	}
	if len(p.Drawings) == 0 {
		return ""
	}
	smallest, widest, scrolled := 0.0, 0.0, 0
	for _, d := range p.Drawings {
		for _, o := range d.Outside {
			bad.add("%s: %s: text outside the drawing: %s", at, d.Src, o)
		}
		if d.Smallest == 0 {
			continue
		}
		if smallest == 0 || d.Smallest < smallest {
			smallest = d.Smallest
		}
		widest = max(widest, d.Shown)
		cut := d.Shown > d.Column+0.5 && !d.Scrolls
		if cut {
			bad.add("%s: %s is %.0f px wide, cut off by a %.0f px column that does not scroll", at, d.Src, d.Shown, d.Column)
		}
		if d.Shown > d.Column+0.5 {
			scrolled++
		}
		if d.Smallest < legible-0.01 {
			// Shown smaller than drawn: fine on a phone if a tap opens
			// the drawing alone, where its text has its own size.
			own := d.Smallest * d.Natural / d.Shown
			if !(p.Window < 600 && d.Opens && own >= legible-0.01) {
				bad.add("%s: %s is shown at %.0f of its %.0f px: its smallest text is %.1f px, under %d px", at, d.Src, d.Shown, d.Natural, d.Smallest, legible)
			}
		}
	}
	return fmt.Sprintf(", %d diagrams (smallest text %.1f px, widest %.0f px, %d scroll sideways)", len(p.Drawings), smallest, widest, scrolled)
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
