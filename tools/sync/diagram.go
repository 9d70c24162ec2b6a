package main

// The sequence diagrams: SVGs drawn from an example's pinned output,
// so that a changed capture changes the picture.
//
// An output becomes one figure for each of its phases (the lines that
// start with "# "), and a phase with more roles than fit the book's
// column side by side becomes one figure for each group of connections
// (see figures). Every figure is drawn at most pageWidth wide where its
// text allows, and the site shows it at its own size, never scaled
// down: its text stays at the 11 and 12 px it is drawn with.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// A step is one line of an output, as the diagram shows it.
type step struct {
	kind  stepKind
	from  string // segment: sender
	to    string // segment: receiver
	flags string // segment: tcpdump's flag letters
	label string // segment: the arrow's label
	data  bool   // segment: carries payload
	role  string // story: the role the line is about, or ""
	text  string // story, note, gap, phase: the line
	state []stateMark
}

type stepKind int

const (
	segment stepKind = iota // an arrow
	states                  // a states: line, marked on each lifeline
	story                   // a line the program printed, as an annotation
	note                    // "(no segment)" and the like, across the diagram
	gap                     // "(+0.4 s)": the time between the steps around it
	phase                   // "# heading": a new figure
)

type stateMark struct{ role, state, note string }

// A sequence is an output, or one figure of it, parsed for drawing:
// its roles, left to right, and its steps. Clients ("client",
// "client2", ...) come first and servers last, each in the order they
// first appear.
type sequence struct {
	title string // the phase's heading, or ""
	roles []string
	steps []step
}

var (
	segLine    = regexp.MustCompile(`^  (\S+) > (\S+): Flags \[([^\]]+)\], (.*)$`)
	lengthOf   = regexp.MustCompile(`length (\d+)$`)
	stateLine  = regexp.MustCompile(`^  states: (.*)$`)
	gapLine    = regexp.MustCompile(`^  \((\+.*)\)$`)
	noteLine   = regexp.MustCompile(`^  \((.*)\)$`)
	phaseLine  = regexp.MustCompile(`^# (.*)$`)
	storyRole  = regexp.MustCompile(`^([a-z][a-z0-9_-]*)[:,] `)
	detailRole = regexp.MustCompile(`^([a-z][a-z0-9_-]*)[:, ]`)
)

// parseSequence reads an output the examples print (see
// internal/edge: PrintSegments, PrintStates). It reports false when the
// output holds no captured segment: nothing to draw.
func parseSequence(out []byte) (*sequence, bool) {
	seq := &sequence{}
	role := func(r string) {
		if !slices.Contains(seq.roles, r) {
			seq.roles = append(seq.roles, r)
		}
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	// Roles first, so that a story line can name one that only later
	// sends a segment.
	for _, l := range lines {
		if m := segLine.FindStringSubmatch(l); m != nil {
			role(m[1])
			role(m[2])
		} else if m := stateLine.FindStringSubmatch(l); m != nil {
			for _, s := range parseStates(m[1]) {
				if s.role != "" {
					role(s.role)
				}
			}
		}
	}
	rank := func(r string) int {
		switch {
		case strings.HasPrefix(r, "client"):
			return 0
		case strings.HasPrefix(r, "server"):
			return 2
		}
		return 1
	}
	slices.SortStableFunc(seq.roles, func(a, b string) int { return rank(a) - rank(b) })
	segs := 0
	lastRole := ""
	for _, l := range lines {
		switch {
		case segLine.MatchString(l):
			m := segLine.FindStringSubmatch(l)
			segs++
			data := false
			if n := lengthOf.FindStringSubmatch(m[4]); n != nil && n[1] != "0" {
				data = true
			}
			seq.steps = append(seq.steps, step{kind: segment, from: m[1], to: m[2], flags: m[3],
				label: "[" + m[3] + "] " + m[4], data: data})
		case stateLine.MatchString(l):
			seq.steps = append(seq.steps, step{kind: states, state: parseStates(stateLine.FindStringSubmatch(l)[1])})
		case gapLine.MatchString(l):
			seq.steps = append(seq.steps, step{kind: gap, text: gapLine.FindStringSubmatch(l)[1]})
		case noteLine.MatchString(l):
			seq.steps = append(seq.steps, step{kind: note, text: strings.TrimSpace(l)})
		case phaseLine.MatchString(l):
			lastRole = ""
			seq.steps = append(seq.steps, step{kind: phase, text: phaseLine.FindStringSubmatch(l)[1]})
		case strings.TrimSpace(l) == "":
		case strings.HasPrefix(l, " "):
			// A detail of the story line above it: same role, unless
			// it starts with a role of its own.
			text := strings.TrimSpace(l)
			r := lastRole
			if m := detailRole.FindStringSubmatch(text); m != nil && slices.Contains(seq.roles, m[1]) {
				r = m[1]
			}
			seq.steps = append(seq.steps, step{kind: story, role: r, text: text})
		default:
			lastRole = ""
			if m := storyRole.FindStringSubmatch(l); m != nil && slices.Contains(seq.roles, m[1]) {
				lastRole = m[1]
			}
			seq.steps = append(seq.steps, step{kind: story, role: lastRole, text: l})
		}
	}
	return seq, segs > 0
}

// parseStates splits "client TIME_WAIT (a, b), server CLOSED" at the
// commas outside parentheses.
func parseStates(s string) []stateMark {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, s[start:])
	var marks []stateMark
	for _, p := range parts {
		p = strings.TrimSpace(p)
		role, rest, _ := strings.Cut(p, " ")
		state, note := rest, ""
		if i := strings.Index(rest, " ("); i >= 0 {
			state, note = rest[:i], strings.TrimSpace(rest[i+1:])
		}
		if strings.HasPrefix(rest, "(") {
			state, note = "", rest
		}
		marks = append(marks, stateMark{role: role, state: state, note: note})
	}
	return marks
}

// maxLifelines is how many roles a figure puts side by side: three
// columns of pageWidth/3 hold the longest arrow label between two
// neighbours.
const maxLifelines = 3

// figures splits an output into the figures drawn of it. Each phase
// (from a "# " line to the next) is a figure of its own; a phase in
// which nothing reaches a lifeline (no segment, no state) is left out.
// A phase with more than maxLifelines roles is split by connection:
// the roles that exchange segments form a group, a group still too
// big is split into its connections (one pair of roles each), and
// consecutive groups are merged again as long as they fit. A step goes
// to the figures whose roles it is about; a line about no role (a
// heading of the story, "(no segment)", a time gap) goes to the
// figures that have a segment or a story line in the same paragraph of
// the output, up to the next line about no role, or to all of them.
func figures(q *sequence) []*sequence {
	var out []*sequence
	cur := &sequence{}
	flush := func() {
		if slices.ContainsFunc(cur.steps, func(s step) bool { return s.kind == segment || s.kind == states }) {
			for _, g := range groups(q.roles, cur.steps) {
				out = append(out, only(cur, g))
			}
		}
	}
	for _, s := range q.steps {
		if s.kind == phase {
			flush()
			cur = &sequence{title: s.text}
			continue
		}
		cur.steps = append(cur.steps, s)
	}
	flush()
	return out
}

// roles lists the roles that steps are about, in the order of all.
func roles(all []string, steps []step) []string {
	var in []string
	for _, r := range all {
		if slices.ContainsFunc(steps, func(s step) bool { return about(s, r) }) {
			in = append(in, r)
		}
	}
	return in
}

// about says whether step s concerns role r.
func about(s step, r string) bool {
	switch s.kind {
	case segment:
		return s.from == r || s.to == r
	case story:
		return s.role == r
	case states:
		return slices.ContainsFunc(s.state, func(m stateMark) bool { return m.role == r })
	}
	return false
}

// groups divides the roles of a phase's steps into the figures' roles.
func groups(all []string, steps []step) [][]string {
	in := roles(all, steps)
	if len(in) <= maxLifelines {
		return [][]string{in}
	}
	// The connections, as pairs of roles in the order they first
	// appear; and the roles linked by them.
	var pairs [][2]string
	for _, s := range steps {
		if s.kind != segment || s.from == s.to {
			continue
		}
		p := [2]string{s.from, s.to}
		if slices.Index(all, p[0]) > slices.Index(all, p[1]) {
			p[0], p[1] = p[1], p[0]
		}
		if !slices.Contains(pairs, p) {
			pairs = append(pairs, p)
		}
	}
	var pieces [][]string
	component := func(r string) int {
		return slices.IndexFunc(pieces, func(g []string) bool { return slices.Contains(g, r) })
	}
	for _, r := range in {
		pieces = append(pieces, []string{r})
	}
	for _, p := range pairs {
		a, b := component(p[0]), component(p[1])
		if a != b {
			pieces[a] = append(pieces[a], pieces[b]...)
			pieces = slices.Delete(pieces, b, b+1)
		}
	}
	var split [][]string
	for _, g := range pieces {
		if len(g) <= maxLifelines {
			split = append(split, g)
			continue
		}
		for _, p := range pairs {
			if slices.Contains(g, p[0]) {
				split = append(split, p[:])
			}
		}
	}
	var merged [][]string
	for _, g := range split {
		if k := len(merged) - 1; k >= 0 && len(union(merged[k], g)) <= maxLifelines {
			merged[k] = union(merged[k], g)
			continue
		}
		merged = append(merged, g)
	}
	for _, g := range merged {
		slices.SortFunc(g, func(a, b string) int { return slices.Index(all, a) - slices.Index(all, b) })
	}
	return merged
}

func union(a, b []string) []string {
	u := slices.Clone(a)
	for _, r := range b {
		if !slices.Contains(u, r) {
			u = append(u, r)
		}
	}
	return u
}

// only is the part of phase q that a figure of the given roles shows.
func only(q *sequence, rs []string) *sequence {
	mine := func(s step) bool {
		switch s.kind {
		case segment:
			return slices.Contains(rs, s.from) && slices.Contains(rs, s.to)
		case story:
			return slices.Contains(rs, s.role)
		}
		return false
	}
	// Which paragraphs (each starts at a line about no role) have a
	// segment or a story line of ours, and which have one of anybody's.
	para := make([]int, len(q.steps))
	ours, anybody := map[int]bool{}, map[int]bool{}
	k := 0
	for i, s := range q.steps {
		if s.kind == story && s.role == "" {
			k++
		}
		para[i] = k
		if s.kind == segment || s.kind == story && s.role != "" {
			anybody[k] = true
			ours[k] = ours[k] || mine(s)
		}
	}
	f := &sequence{title: q.title, roles: rs}
	for i, s := range q.steps {
		switch {
		case s.kind == states:
			var kept []stateMark
			for _, m := range s.state {
				if slices.Contains(rs, m.role) {
					kept = append(kept, m)
				}
			}
			if kept != nil {
				s.state = kept
				f.steps = append(f.steps, s)
			}
		case s.kind == segment || s.kind == story && s.role != "":
			if mine(s) {
				f.steps = append(f.steps, s)
			}
		case ours[para[i]] || !anybody[para[i]]:
			f.steps = append(f.steps, s)
		}
	}
	return f
}

// Layout, in pixels. All text is monospace, so that its width is known
// without font metrics: DejaVu Sans Mono, the first font asked for, is
// 0.602 em a character; widths are reckoned at 0.62 em, so that a
// fallback a little wider still fits.
const (
	pageWidth  = 680 // the book's column is about 690 px at a 1280 px window
	labelSize  = 12  // arrow labels, role names, states, time gaps
	noteSize   = 11  // annotations
	lineHeight = 15
	margin     = 6 // no text nearer the edge than this
)

func textWidth(s string, size int) int {
	return (utf8.RuneCountInString(s)*size*62 + 99) / 100
}

// chars is how many characters of the size given fit in width px.
func chars(width, size int) int {
	return width * 100 / (size * 62)
}

// A drawing lays out one figure.
type drawing struct {
	q      *sequence
	width  int
	x      map[string]int // each role's lifeline
	column int            // the width of each role's column
	body   bytes.Buffer
	y      int
	dashed [][2]int // spans of the lifelines drawn dashed: time gaps
}

// svgDiagram draws the sequence as a standalone SVG.
func svgDiagram(title string, q *sequence) []byte {
	d := &drawing{q: q, x: map[string]int{}}
	n := max(len(q.roles), 1)
	// Each role has a column, its lifeline in the middle; a column is
	// wide enough for its role's box and for the label of an arrow to
	// a neighbour.
	d.column = pageWidth / n
	for i, r := range q.roles {
		d.column = max(d.column, textWidth(r, labelSize)+40)
		for _, s := range q.steps {
			if s.kind == segment && s.from == r && (i > 0 && s.to == q.roles[i-1] || i < n-1 && s.to == q.roles[i+1]) {
				d.column = max(d.column, textWidth(s.label, labelSize)+24)
			}
		}
	}
	d.width = d.column * n
	for i, r := range q.roles {
		d.x[r] = d.column*i + d.column/2
	}
	if n == 1 {
		// One lifeline: at the left, its loops and notes to its right.
		d.width = pageWidth
		d.x[q.roles[0]] = max(80, textWidth(q.roles[0], labelSize)/2+20)
	}

	// The heading (at the left, where a phone shows it first), then the
	// role boxes, then the steps.
	var head bytes.Buffer
	y := 6
	for _, l := range wrap(q.title, chars(d.width-2*margin, labelSize)) {
		y += lineHeight
		drawText(&head, margin, y, 1, labelSize, "#1a237e", "bold", l, false)
	}
	boxTop := y + 8
	d.y = boxTop + 28 + 14
	for _, s := range q.steps {
		d.step(s)
	}
	height := d.y + 14

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" font-family="DejaVu Sans Mono, Liberation Mono, Menlo, Consolas, monospace">`+"\n",
		d.width, height, d.width, height)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(title))
	b.WriteString("<defs>\n")
	for _, c := range colours {
		fmt.Fprintf(&b, `<marker id="head-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`+"\n",
			strings.TrimPrefix(c, "#"), c)
	}
	b.WriteString("</defs>\n")
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", d.width, height)
	b.Write(head.Bytes())
	for _, r := range q.roles {
		xr := d.x[r]
		// The lifeline: solid, dashed across a time gap.
		from := boxTop + 28
		for _, g := range append(d.dashed, [2]int{height - 6, height - 6}) {
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#b0bec5" stroke-width="1.5"/>`+"\n", xr, from, xr, g[0])
			if g[1] > g[0] {
				fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#b0bec5" stroke-width="1.5" stroke-dasharray="3 4"/>`+"\n", xr, g[0], xr, g[1])
			}
			from = g[1]
		}
		w := textWidth(r, labelSize) + 24
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="28" rx="4" fill="#eceff1" stroke="#78909c"/>`+"\n", xr-w/2, boxTop, w)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="%d" font-weight="bold" fill="#263238">%s</text>`+"\n", xr, boxTop+19, labelSize, esc(r))
	}
	b.Write(d.body.Bytes())
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// step draws one step at d.y and moves d.y below it.
func (d *drawing) step(s step) {
	b := &d.body
	y := d.y
	switch s.kind {
	case segment:
		x1, x2 := d.x[s.from], d.x[s.to]
		colour := arrowColour(s)
		id := strings.TrimPrefix(colour, "#")
		w := textWidth(s.label, labelSize)
		if x1 == x2 {
			// To itself: a loop right of the lifeline, labelled beside it.
			fmt.Fprintf(b, `<path d="M%d,%d H%d V%d H%d" fill="none" stroke="%s" stroke-width="1.6" marker-end="url(#head-%s)"/>`+"\n",
				x1, y+10, x1+28, y+26, x1+3, colour, id)
			drawText(b, x1+36, y+22, 1, labelSize, colour, "normal", s.label, false)
			d.y += 36
			return
		}
		dir := 1
		if x2 < x1 {
			dir = -1
		}
		// Centred over the arrow, but inside the drawing; on a white
		// ground, since an arrow between two far lifelines crosses
		// those between them, and its label would too.
		mid := min(max((x1+x2)/2, margin+w/2), d.width-margin-w/2)
		drawText(b, mid, y+12, 0, labelSize, colour, "normal", s.label, true)
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1.6" marker-end="url(#head-%s)"/>`+"\n",
			x1, y+18, x2-dir*2, y+30, colour, id)
		d.y += 40
	case states:
		h := 18
		for _, m := range s.state {
			x, ok := d.x[m.role]
			if !ok {
				continue
			}
			// Centred on the lifeline, as wide as its column (less
			// near an edge).
			room := min(d.column, 2*x, 2*(d.width-x)) - 2*margin
			h = max(h, 18+lineHeight*len(wrap(m.note, chars(room, noteSize))))
			fmt.Fprintf(b, `<circle cx="%d" cy="%d" r="4" fill="#3949ab"/>`+"\n", x, y+9)
			if m.state != "" {
				w := textWidth(m.state, labelSize) + 10
				fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="18" rx="3" fill="#e8eaf6" stroke="#3949ab" stroke-width="0.8"/>`+"\n", x-w/2, y, w)
				drawText(b, x, y+13, 0, labelSize, "#1a237e", "bold", m.state, false)
			}
			for k, l := range wrap(m.note, chars(room, noteSize)) {
				drawText(b, x, y+18+12+k*lineHeight, 0, noteSize, "#5c6bc0", "normal", l, true)
			}
		}
		d.y += h + 12
	case story:
		if s.role == "" {
			// About no role: across the drawing, in bold.
			lines := wrap(s.text, chars(d.width-2*margin, noteSize))
			for k, l := range lines {
				drawText(b, d.width/2, y+12+k*lineHeight, 0, noteSize, "#37474f", "bold", l, true)
			}
			d.y += len(lines)*lineHeight + 6
			return
		}
		// Beside its role's lifeline, towards the middle of the
		// drawing, or centred on it in the middle.
		x := d.x[s.role]
		side, tx, room := 0, d.width/2, d.width-2*margin
		switch {
		case len(d.q.roles) == 1 || x < d.width/2-d.column/4:
			side, tx = 1, x+10
			room = d.width - margin - tx
		case x > d.width/2+d.column/4:
			side, tx = -1, x-10
			room = tx - margin
		}
		lines := wrap(s.text, chars(room, noteSize))
		if side != 0 {
			fmt.Fprintf(b, `<circle cx="%d" cy="%d" r="3" fill="#78909c"/>`+"\n", x, y+8)
		}
		for k, l := range lines {
			drawText(b, tx, y+12+k*lineHeight, side, noteSize, "#455a64", "normal", l, true)
		}
		d.y += len(lines)*lineHeight + 6
	case note:
		lines := wrap(s.text, chars(d.width-2*margin, noteSize))
		for k, l := range lines {
			drawText(b, d.width/2, y+12+k*lineHeight, 0, noteSize, "#757575", "normal", l, true)
		}
		d.y += len(lines)*lineHeight + 8
	case gap:
		// Time passes: the lifelines dashed, the time on a label.
		lines := wrap(s.text, chars(d.width-2*margin-16, labelSize))
		h := 20 + len(lines)*lineHeight
		d.dashed = append(d.dashed, [2]int{y, y + h})
		w := 0
		for _, l := range lines {
			w = max(w, textWidth(l, labelSize))
		}
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" rx="9" fill="#fff8e1" stroke="#ffa000" stroke-width="0.8"/>`+"\n",
			d.width/2-w/2-8, y+6, w+16, len(lines)*lineHeight+8)
		for k, l := range lines {
			drawText(b, d.width/2, y+6+lineHeight+k*lineHeight, 0, labelSize, "#e65100", "bold", l, false)
		}
		d.y += h
	}
}

// The arrows' colours: SYN blue, FIN orange, RST red, data green, a
// bare ACK grey.
var colours = []string{"#1565c0", "#e65100", "#c62828", "#2e7d32", "#546e7a"}

func arrowColour(s step) string {
	switch {
	case strings.Contains(s.flags, "R"):
		return colours[2]
	case strings.Contains(s.flags, "S"):
		return colours[0]
	case strings.Contains(s.flags, "F"):
		return colours[1]
	case s.data:
		return colours[3]
	}
	return colours[4]
}

// drawText writes one line of text at baseline y: ending at x for side
// -1, starting at x for +1, centred on x for 0; on a white ground (to
// cover the lifelines it crosses) when ground is set.
func drawText(b *bytes.Buffer, x, y, side, size int, colour, weight, s string, ground bool) {
	anchor := map[int]string{-1: "end", 0: "middle", 1: "start"}[side]
	if ground {
		w := textWidth(s, size) + 6
		left := map[int]int{-1: x - w + 3, 0: x - w/2, 1: x - 3}[side]
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#ffffff"/>`+"\n", left, y-size, w, size+4)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="%s" font-size="%d" font-weight="%s" fill="%s">%s</text>`+"\n",
		x, y, anchor, size, weight, colour, esc(s))
}

// wrap breaks s at spaces into lines of at most n characters; a longer
// word is cut.
func wrap(s string, n int) []string {
	if s == "" {
		return nil
	}
	n = max(n, 8)
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		for utf8.RuneCountInString(w) > n {
			if line != "" {
				lines = append(lines, line)
				line = ""
			}
			r := []rune(w)
			lines = append(lines, string(r[:n]))
			w = string(r[n:])
		}
		switch {
		case line == "":
			line = w
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) <= n:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
