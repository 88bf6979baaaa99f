package webhook

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlToText turns a message body in HTML (Intercom's) into plain text:
// the text nodes, entities decoded, whitespace collapsed, <br> and block
// elements (<p>, <div>, <li>, …) as line breaks, scripts and styles
// dropped, at most one blank line in a row, trimmed.
func htmlToText(s string) string {
	if s == "" {
		return ""
	}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(s), body)
	if err != nil {
		return ""
	}
	var t textWriter
	for _, n := range nodes {
		t.walk(n)
	}
	return t.String()
}

// Elements whose content is not text a person wrote.
var htmlDropped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Template: true, atom.Noscript: true,
	atom.Head: true, atom.Title: true, atom.Iframe: true, atom.Object: true, atom.Svg: true,
}

// Elements that stand on lines of their own.
var htmlBlocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Li: true, atom.Ul: true, atom.Ol: true, atom.Dl: true,
	atom.Dt: true, atom.Dd: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Blockquote: true, atom.Pre: true, atom.Table: true,
	atom.Tr: true, atom.Hr: true, atom.Section: true, atom.Article: true, atom.Header: true,
	atom.Footer: true, atom.Figure: true, atom.Figcaption: true, atom.Address: true,
}

type textWriter struct {
	b       strings.Builder
	space   bool // whitespace seen since the last word
	newline int  // line breaks at the end of b
}

func (t *textWriter) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		t.text(n.Data)
		return
	case html.ElementNode:
		if htmlDropped[n.DataAtom] || n.Namespace != "" {
			return
		}
		if n.DataAtom == atom.Br {
			t.lineBreak()
			return
		}
	case html.DocumentNode:
	default: // comments, doctypes
		return
	}
	block := n.Type == html.ElementNode && htmlBlocks[n.DataAtom]
	if block {
		t.endLine()
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		t.walk(c)
	}
	if block {
		t.endLine()
	}
}

func (t *textWriter) text(s string) {
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if unicode.IsSpace(r) {
			t.space = true
			continue
		}
		if t.space && t.b.Len() > 0 && t.newline == 0 {
			t.b.WriteByte(' ')
		}
		t.space = false
		t.newline = 0
		t.b.WriteRune(r)
	}
}

// lineBreak is a <br>: always a line break, at most one blank line.
func (t *textWriter) lineBreak() {
	t.space = false
	if t.b.Len() == 0 || t.newline >= 2 {
		return
	}
	t.b.WriteByte('\n')
	t.newline++
}

// endLine ends the current line, if one is open.
func (t *textWriter) endLine() {
	t.space = false
	if t.b.Len() > 0 && t.newline == 0 {
		t.b.WriteByte('\n')
		t.newline++
	}
}

func (t *textWriter) String() string { return strings.TrimSpace(t.b.String()) }
