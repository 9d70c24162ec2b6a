package main

// The sequence diagrams: an SVG drawn from an example's pinned output,
// so that a changed capture changes the picture.

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
	lines []string
	state []stateMark
}

type stepKind int

const (
	segment stepKind = iota // an arrow
	states                  // a states: line, marked on each lifeline
	story                   // a line the program printed, as an annotation
	note                    // "(no segment)" and the like, across the diagram
)

type stateMark struct{ role, state, note string }

// A sequence is an output parsed for drawing: its roles, left to right,
// and its steps. Clients ("client", "client2", ...) come first and
// servers last, each in the order they first appear.
type sequence struct {
	roles []string
	steps []step
}

var (
	segLine   = regexp.MustCompile(`^  (\S+) > (\S+): Flags \[([^\]]+)\], (.*)$`)
	lengthOf  = regexp.MustCompile(`length (\d+)$`)
	stateLine = regexp.MustCompile(`^  states: (.*)$`)
	noteLine  = regexp.MustCompile(`^  \((.*)\)$`)
	storyRole = regexp.MustCompile(`^([a-z][a-z0-9_-]*)[:,] (.*)$`)
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
		case noteLine.MatchString(l):
			seq.steps = append(seq.steps, step{kind: note, lines: []string{strings.TrimSpace(l)}})
		case strings.TrimSpace(l) == "":
		case strings.HasPrefix(l, " "):
			// A detail of the story line above it: same role.
			seq.steps = append(seq.steps, step{kind: story, role: lastRole, lines: []string{strings.TrimSpace(l)}})
		default:
			lastRole = ""
			text := l
			if m := storyRole.FindStringSubmatch(l); m != nil && slices.Contains(seq.roles, m[1]) {
				lastRole = m[1]
			}
			seq.steps = append(seq.steps, step{kind: story, role: lastRole, lines: []string{text}})
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

// Layout, in pixels. All text is monospace, so that its width is known
// without font metrics: 0.6 em a character.
const (
	labelSize  = 12 // arrow labels, role names, states
	noteSize   = 11 // annotations
	sideChars  = 40 // annotations at the side wrap at this width
	lineHeight = 15
	minGap     = 230 // between two lifelines
	top        = 52  // first step, below the role boxes
)

func textWidth(s string, size int) int {
	return (utf8.RuneCountInString(s)*size*6 + 9) / 10
}

// side says where the annotations of role i go: -1 left of its
// lifeline, +1 right of it, 0 centred on it.
func (q *sequence) side(i int) int {
	switch {
	case i == len(q.roles)-1:
		return +1
	case i == 0:
		return -1
	}
	return 0
}

// svgDiagram draws the sequence as a standalone SVG.
func svgDiagram(title string, q *sequence) []byte {
	n := len(q.roles)
	index := map[string]int{}
	for i, r := range q.roles {
		index[r] = i
	}
	// Wrap the annotations, then size the gutters and the gaps.
	widest := make([]int, n) // widest text at the side of each lifeline
	gap := minGap
	for i := range q.steps {
		s := &q.steps[i]
		switch s.kind {
		case segment:
			a, b := index[s.from], index[s.to]
			if a-b == 1 || b-a == 1 {
				gap = max(gap, textWidth(s.label, labelSize)+40)
			}
		case story:
			if s.role != "" {
				s.lines = wrap(s.lines[0], sideChars)
				for _, l := range s.lines {
					widest[index[s.role]] = max(widest[index[s.role]], textWidth(l, noteSize))
				}
			}
		case states:
			for j, m := range s.state {
				i, ok := index[m.role]
				if !ok {
					continue
				}
				w := textWidth(m.state, labelSize) + 10
				for _, l := range wrap(m.note, sideChars) {
					w = max(w, textWidth(l, noteSize))
				}
				widest[i] = max(widest[i], w)
				s.state[j] = m
			}
		}
	}
	for i := 1; i < n-1; i++ {
		gap = max(gap, widest[i]+40)
	}
	left := max(widest[0]+40, textWidth(q.roles[0], labelSize)/2+30)
	right := max(widest[n-1]+40, textWidth(q.roles[n-1], labelSize)/2+30)
	if n == 1 {
		left = 60
	}
	x := func(role string) int { return left + index[role]*gap }
	width := left + (n-1)*gap + right
	span := max((n-1)*gap, 200)
	centre := left + (n-1)*gap/2

	var body bytes.Buffer
	y := top
	for _, s := range q.steps {
		switch s.kind {
		case segment:
			x1, x2 := x(s.from), x(s.to)
			colour := arrowColour(s)
			dir := 1
			if x2 < x1 {
				dir = -1
			}
			mid := (x1 + x2) / 2
			// On a white ground: an arrow between two far lifelines
			// crosses those between them, and its label would too.
			w := textWidth(s.label, labelSize) + 8
			fmt.Fprintf(&body, `<rect x="%d" y="%d" width="%d" height="%d" fill="#ffffff"/>`+"\n", mid-w/2, y, w, labelSize+4)
			fmt.Fprintf(&body, `<text x="%d" y="%d" text-anchor="middle" font-size="%d" fill="%s">%s</text>`+"\n",
				mid, y+12, labelSize, colour, esc(s.label))
			fmt.Fprintf(&body, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1.6" marker-end="url(#head-%s)"/>`+"\n",
				x1, y+18, x2-dir*2, y+30, colour, strings.TrimPrefix(colour, "#"))
			y += 40
		case states:
			h := 1
			for _, m := range s.state {
				h = max(h, 1+len(wrap(m.note, sideChars)))
			}
			for _, m := range s.state {
				i, ok := index[m.role]
				if !ok {
					continue
				}
				drawState(&body, x(m.role), y, q.side(i), m)
			}
			y += h*lineHeight + 12
		case story:
			if s.role == "" {
				lines := wrap(s.lines[0], max(span/textWidth("m", noteSize), 20))
				for k, l := range lines {
					drawText(&body, centre, y+12+k*lineHeight, 0, noteSize, "#37474f", "bold", l)
				}
				y += len(lines)*lineHeight + 6
				continue
			}
			xr := x(s.role)
			if q.side(index[s.role]) != 0 {
				fmt.Fprintf(&body, `<circle cx="%d" cy="%d" r="3" fill="#78909c"/>`+"\n", xr, y+8)
			}
			for k, l := range s.lines {
				drawText(&body, xr+12*q.side(index[s.role]), y+12+k*lineHeight, q.side(index[s.role]), noteSize, "#455a64", "normal", l)
			}
			y += len(s.lines)*lineHeight + 6
		case note:
			drawText(&body, centre, y+12, 0, noteSize, "#757575", "normal", s.lines[0])
			y += lineHeight + 8
		}
	}
	height := y + 14

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" font-family="DejaVu Sans Mono, Liberation Mono, Menlo, Consolas, monospace">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(title))
	b.WriteString("<defs>\n")
	for _, c := range colours {
		fmt.Fprintf(&b, `<marker id="head-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`+"\n",
			strings.TrimPrefix(c, "#"), c)
	}
	b.WriteString("</defs>\n")
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	for _, r := range q.roles {
		xr := x(r)
		w := textWidth(r, labelSize) + 24
		fmt.Fprintf(&b, `<line x1="%d" y1="38" x2="%d" y2="%d" stroke="#b0bec5" stroke-width="1.5"/>`+"\n", xr, xr, height-6)
		fmt.Fprintf(&b, `<rect x="%d" y="10" width="%d" height="28" rx="4" fill="#eceff1" stroke="#78909c"/>`+"\n", xr-w/2, w)
		fmt.Fprintf(&b, `<text x="%d" y="29" text-anchor="middle" font-size="%d" font-weight="bold" fill="#263238">%s</text>`+"\n", xr, labelSize, esc(r))
	}
	b.Write(body.Bytes())
	b.WriteString("</svg>\n")
	return b.Bytes()
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

// drawState marks a state on a lifeline: a dot, the state's name in a
// box at the side given, and its note under it.
func drawState(b *bytes.Buffer, x, y, side int, m stateMark) {
	fmt.Fprintf(b, `<circle cx="%d" cy="%d" r="4" fill="#3949ab"/>`+"\n", x, y+9)
	if m.state != "" {
		w := textWidth(m.state, labelSize) + 10
		bx := x + 8
		switch side {
		case -1:
			bx = x - 8 - w
		case 0:
			bx = x - w/2
		}
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="18" rx="3" fill="#e8eaf6" stroke="#3949ab" stroke-width="0.8"/>`+"\n", bx, y, w)
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" font-size="%d" font-weight="bold" fill="#1a237e">%s</text>`+"\n",
			bx+w/2, y+13, labelSize, esc(m.state))
	}
	tx := x + 8*side
	for k, l := range wrap(m.note, sideChars) {
		drawText(b, tx, y+18+12+k*lineHeight, side, noteSize, "#5c6bc0", "normal", l)
	}
}

// drawText writes one line: right-aligned to x for side -1, left for
// +1, centred on a white ground (to cover a lifeline) for 0.
func drawText(b *bytes.Buffer, x, y, side, size int, colour, weight, s string) {
	anchor := map[int]string{-1: "end", 0: "middle", 1: "start"}[side]
	if side == 0 {
		w := textWidth(s, size) + 8
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#ffffff"/>`+"\n", x-w/2, y-size, w, size+4)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="%s" font-size="%d" font-weight="%s" fill="%s">%s</text>`+"\n",
		x, y, anchor, size, weight, colour, esc(s))
}

// wrap breaks s at spaces into lines of at most n characters (a longer
// word gets a line of its own).
func wrap(s string, n int) []string {
	if s == "" {
		return nil
	}
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
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
