package main

import (
	"fmt"
	"html/template"
	"net/http"

	"github.com/google/uuid"
)

// demoPage is a plain HTML form posting to the demo form, to try the
// browser path (urlencoded post, 303 to the thank-you page) by hand. Each
// render carries a fresh submission id in the form's idempotency field
// (local/forms/contact.json), so a double submit of one render is stored once.
func demoPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = demoForm.Execute(w, uuid.NewString())
}

var demoForm = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kehu demo: contact form</title>
<style>body{font-family:sans-serif;max-width:36rem;margin:2rem auto}label{display:block;margin:.5rem 0}input,textarea{width:100%}.hp{display:none}</style></head>
<body><h1>Contact us</h1>
<form method="post" action="/v1/forms/contact/submissions">
<label>Name <input name="name" required></label>
<label>Email <input name="email" type="email"></label>
<label>Phone <input name="phone" type="tel"></label>
<label>Company <input name="company"></label>
<label>Region <input name="region"></label>
<label>Industry <input name="industry"></label>
<label>Message <textarea name="message"></textarea></label>
<label class="hp">Website <input name="website" tabindex="-1" autocomplete="off"></label>
<input type="hidden" name="notice" value="contact-v1">
<input type="hidden" name="form_submission_id" value="{{.}}">
<label><input type="checkbox" name="consent" value="processing" required style="width:auto"> I agree that my details are processed to answer my request (notice contact-v1).</label>
<label><input type="checkbox" name="consent" value="contact" style="width:auto"> You may contact me about my request.</label>
<label><input type="checkbox" name="consent" value="marketing" style="width:auto"> Send me news and offers.</label>
<button>Send</button>
</form></body></html>
`))

func thanksPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Thank you</title></head><body><h1>Thank you</h1><p>Your details were received.</p></body></html>\n")
}
