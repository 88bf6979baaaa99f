package webhook

import "testing"

func TestHTMLToText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain text", "Hello there", "Hello there"},
		{"empty", "", ""},
		{"entities", "Fish &amp; chips &lt;3 &eacute;t&eacute; &#x1F600; &quot;q&quot; &#39;s", "Fish & chips <3 été 😀 \"q\" 's"},
		{"non-breaking space", "a&nbsp;b", "a b"},
		{"br", "a<br>b<br/>c<br />d", "a\nb\nc\nd"},
		{"paragraphs", "<p>one</p><p>two</p>", "one\ntwo"},
		{"empty paragraph between", `<p class="no-margin">Hello</p><p class="no-margin"></p><p class="no-margin">World</p>`, "Hello\nWorld"},
		{"br ends a line inside a paragraph", "<p>Order <b>#1042</b><br>Thanks!</p>", "Order #1042\nThanks!"},
		{"at most one blank line", "a<br><br><br><br>b", "a\n\nb"},
		{"nested tags", "<div><p>Hi <b>there <i>you</i></b></p><ul><li>one</li><li>two</li></ul></div>", "Hi there you\none\ntwo"},
		{"inline tags keep words apart only where spaced", "<b>bold</b><i>italic</i> <a href=\"https://x.example\">link</a>", "bolditalic link"},
		{"script and style dropped", "<p>keep</p><script>alert('secret')</script><style>p{color:red}</style><p>this</p>", "keep\nthis"},
		{"comments dropped", "a<!-- secret -->b", "ab"},
		{"whitespace collapsed and trimmed", "  <p>\n  spaced\n\t  out  </p>\n  <p> again </p> ", "spaced out\nagain"},
		{"unclosed tags", "<p>unclosed <b>bold", "unclosed bold"},
		{"image only", `<img src="https://downloads.intercomcdn.com/i/o/1/a.png" alt="photo">`, ""},
		{"svg dropped", `<p>x</p><svg><text>secret</text></svg>`, "x"},
		{"stray markup", "a < b and c > d & e", "a < b and c > d & e"},
		{"headings and quotes", "<h1>Title</h1><blockquote>quoted</blockquote>tail", "Title\nquoted\ntail"},
		{"table rows", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "ab\nc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := htmlToText(c.in); got != c.want {
				t.Errorf("htmlToText(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}
