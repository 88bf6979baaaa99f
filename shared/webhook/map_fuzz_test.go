package webhook

import (
	"path/filepath"
	"strings"
	"testing"
)

// One fuzz target per payload parser, seeded with the testdata payloads.
// The second input, when not empty, is a source map's path to "email".
// Invariants: no panic; an error is an *UnmappableError; an acknowledged
// event carries no data; field values are not empty.

func FuzzMapIntercom(f *testing.F) { fuzzMap(f, Intercom, "data.item.source.author.email") }
func FuzzMapZendesk(f *testing.F)  { fuzzMap(f, Zendesk, "ticket.requester.email") }
func FuzzMapSlack(f *testing.F)    { fuzzMap(f, Slack, "event.files.-1.id") }
func FuzzMapWeCom(f *testing.F)    { fuzzMap(f, WeCom, "FromUserName") }
func FuzzMapStandard(f *testing.F) { fuzzMap(f, Standard, "data.customer.email") }

func fuzzMap(f *testing.F, p Provider, path string) {
	files, err := filepath.Glob(filepath.Join("testdata", string(p)+"-*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no testdata for %s: %v", p, err)
	}
	for _, name := range files {
		b := testdata(f, filepath.Base(name))
		f.Add(b, "")
		f.Add(b, path)
	}
	f.Fuzz(func(t *testing.T, payload []byte, path string) {
		var mapping map[string]string
		if path != "" {
			mapping = map[string]string{path: "email", "x.0": "text"}
		}
		ev, err := Map(p, payload, mapping)
		checkEvent(t, ev, err)
	})
}

// FuzzHTMLToText reaches golang.org/x/net/html with bodies the JSON
// fuzzers rarely build: any input, no panic, trimmed output.
func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{
		"<p>Hi, my order &amp; invoice don&#39;t match.</p><p>Order <b>#1042</b><br>Thanks!</p>",
		"<div><p>Hi <b>there <i>you</i></b></p><ul><li>one</li></ul></div><script>x</script>",
		"<table><tr><td>a<template><p>b</template><svg><foreignObject><p>c</svg>",
		"a<br><br><br>b &nbsp; &#x0; &#xD800;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := htmlToText(s)
		if out != strings.TrimSpace(out) || strings.Contains(out, "\n\n\n") {
			t.Errorf("htmlToText(%q) = %q", s, out)
		}
	})
}
