package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/intake"
)

const (
	maxDepth = 4   // {"fields": {"name": "…"}} is depth 2
	maxParts = 100 // form fields in one post
)

// decoded is a request body turned into fields and consent.
type decoded struct {
	fields  map[string][]string
	consent consent.Grant
}

func header(req *events.APIGatewayV2HTTPRequest, name string) string {
	v, _ := lookupHeader(req, name)
	return v
}

// isHTMLPost reports whether the request is a plain HTML form post, so
// that even an early error is answered with a page rather than JSON.
func isHTMLPost(req *events.APIGatewayV2HTTPRequest) bool {
	mt, _, _ := mime.ParseMediaType(header(req, "content-type"))
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}

// decodeBody reads the body in any of the three accepted encodings. Every
// failure is a *Problem; a 422 for a field of the wrong JSON type is an
// *intake.ValidationError.
func decodeBody(req *events.APIGatewayV2HTTPRequest, limit int) (*decoded, error) {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(req.Body)) > limit+3 {
			return nil, tooLarge(limit)
		}
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, malformed("The body is not valid base64.")
		}
		body = b
	}
	if len(body) > limit {
		return nil, tooLarge(limit)
	}
	mt, params, err := mime.ParseMediaType(header(req, "content-type"))
	if err != nil {
		return nil, unsupportedType()
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" {
		return nil, problem(415, "unsupported-media-type", "Unsupported charset", "Only UTF-8 is accepted.")
	}
	switch mt {
	case "application/json":
		return decodeJSON(body)
	case "application/x-www-form-urlencoded":
		if !utf8.Valid(body) {
			return nil, malformed("The body is not valid UTF-8.")
		}
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, malformed("The body is not valid application/x-www-form-urlencoded.")
		}
		return fromValues(vals)
	case "multipart/form-data":
		return decodeMultipart(body, params["boundary"], limit)
	}
	return nil, unsupportedType()
}

func fromValues(vals map[string][]string) (*decoded, error) {
	if len(vals) > maxParts {
		return nil, malformed(fmt.Sprintf("More than %d form fields.", maxParts))
	}
	d := &decoded{fields: map[string][]string{}}
	for name, vs := range vals {
		for _, v := range vs {
			if !utf8.ValidString(v) || !utf8.ValidString(name) {
				return nil, malformed("The body is not valid UTF-8.")
			}
		}
		switch name {
		case "consent":
			for _, v := range vs {
				d.consent.Purposes = append(d.consent.Purposes, consent.Purpose(v))
			}
		case "notice":
			if len(vs) != 1 {
				return nil, malformed("notice must be given once.")
			}
			d.consent.Notice = vs[0]
		default:
			d.fields[name] = vs
		}
	}
	return d, nil
}

func decodeMultipart(body []byte, boundary string, limit int) (*decoded, error) {
	if boundary == "" {
		return nil, malformed("multipart/form-data needs a boundary.")
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	vals := map[string][]string{}
	for n := 0; ; n++ {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, malformed("The multipart body is malformed.")
		}
		if n >= maxParts {
			return nil, malformed(fmt.Sprintf("More than %d form fields.", maxParts))
		}
		if part.FileName() != "" {
			return nil, problem(415, "unsupported-media-type", "File uploads not accepted", "This endpoint takes form fields only, not files.")
		}
		name := part.FormName()
		if name == "" {
			return nil, malformed("A multipart part has no field name.")
		}
		v, err := io.ReadAll(io.LimitReader(part, int64(limit)))
		if err != nil {
			return nil, malformed("The multipart body is malformed.")
		}
		vals[name] = append(vals[name], string(v))
	}
	return fromValues(vals)
}

type jsonBody struct {
	Fields  map[string]json.RawMessage `json:"fields"`
	Consent *struct {
		Purposes []consent.Purpose `json:"purposes"`
		Notice   string            `json:"notice"`
	} `json:"consent"`
}

func decodeJSON(body []byte) (*decoded, error) {
	if !utf8.Valid(body) {
		return nil, malformed("The body is not valid UTF-8.")
	}
	if err := checkJSON(body); err != nil {
		return nil, malformed(err.Error())
	}
	if err := checkEscapes(body); err != nil {
		return nil, malformed(err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var jb jsonBody
	if err := dec.Decode(&jb); err != nil {
		return nil, malformed("The body must be an object with \"fields\" and \"consent\": " + jsonReason(err))
	}
	d := &decoded{fields: make(map[string][]string, len(jb.Fields))}
	var probs []customer.FieldError
	for name, raw := range jb.Fields {
		var s string
		var n json.Number
		switch {
		case json.Unmarshal(raw, &s) == nil:
			d.fields[name] = []string{s}
		case json.Unmarshal(raw, &n) == nil:
			d.fields[name] = []string{n.String()}
		case string(raw) == "null":
		default:
			probs = append(probs, customer.FieldError{Field: customer.SafeName(name), Code: "invalid_type", Detail: "must be a string or a number"})
		}
	}
	if len(probs) > 0 {
		return nil, &intake.ValidationError{Problems: probs}
	}
	if jb.Consent != nil {
		d.consent = consent.Grant{Purposes: jb.Consent.Purposes, Notice: jb.Consent.Notice}
	}
	return d, nil
}

// jsonReason describes a decoding error without quoting the body.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if customer.ValidName(strings.ReplaceAll(te.Field, ".", "_")) {
			return "member " + te.Field + " has the wrong type"
		}
		return "a member has the wrong type"
	}
	if strings.HasPrefix(err.Error(), "json: unknown field") {
		return "it has another member" // the name is not repeated: it could be anything
	}
	return "invalid JSON"
}

// checkJSON walks the tokens once: exactly one value, no duplicate member
// names in any object, nesting no deeper than maxDepth, and member names
// that are exactly those of the contract. encoding/json matches member names
// to struct fields case-insensitively (and with Unicode folding: "conſent"
// is "consent"), so without this {"Fields": …} would be read as "fields"
// and {"fields": …, "FIELDS": …} merged.
func checkJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := walkJSON(dec, 0, membersTop); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("The body holds more than one JSON value.")
	}
	return nil
}

var errInvalidJSON = errors.New("The body is not valid JSON.")

// members says which member names an object may have: membersTop and
// membersConsent list them exactly; membersAny takes any name (the fields
// object: field names are checked against the form).
type members int

const (
	membersAny members = iota
	membersTop
	membersConsent
)

// errMemberName does not repeat the name: it could be anything.
var errMemberName = errors.New(`The body may only have the members "fields" and "consent", and "consent" only "purposes" and "notice", spelt exactly so.`)

func (m members) allows(name string) (members, bool) {
	switch m {
	case membersTop:
		switch name {
		case "fields":
			return membersAny, true
		case "consent":
			return membersConsent, true
		}
		return membersAny, false
	case membersConsent:
		return membersAny, name == "purposes" || name == "notice"
	}
	return membersAny, true
}

func walkJSON(dec *json.Decoder, depth int, m members) error {
	tok, err := dec.Token()
	if err != nil {
		return errInvalidJSON
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxDepth {
		return fmt.Errorf("The JSON nests deeper than %d levels.", maxDepth)
	}
	names := map[string]bool{}
	for dec.More() {
		inner := membersAny
		if d == '{' {
			t, err := dec.Token()
			if err != nil {
				return errInvalidJSON
			}
			name, _ := t.(string)
			if names[name] {
				return errors.New("A member name appears twice in one object.")
			}
			names[name] = true
			var ok bool
			if inner, ok = m.allows(name); !ok {
				return errMemberName
			}
		}
		if err := walkJSON(dec, depth+1, inner); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return errInvalidJSON
	}
	return nil
}

var errEscape = errors.New("The body has an invalid \\u escape: a lone UTF-16 surrogate.")

// checkEscapes refuses \u escapes that are not Unicode scalar values: a
// high surrogate (\ud800-\udbff) not followed by an escaped low surrogate
// (\udc00-\udfff), or a low surrogate without a high one before it.
// encoding/json would silently turn each into U+FFFD, storing a character
// the person never typed. It scans the raw bytes of a body that is already
// known to be valid JSON, so a '"' outside a string always opens one.
func checkEscapes(body []byte) error {
	in := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !in {
			in = c == '"'
			continue
		}
		switch c {
		case '"':
			in = false
		case '\\':
			if i+1 < len(body) && body[i+1] != 'u' {
				i++ // a one-character escape: \" \\ \/ \b \f \n \r \t
				continue
			}
			u, ok := hex4(body, i+2)
			if !ok {
				return errEscape // valid JSON has 4 hex digits here
			}
			i += 5
			switch {
			case 0xDC00 <= u && u <= 0xDFFF:
				return errEscape
			case 0xD800 <= u && u <= 0xDBFF:
				if i+2 >= len(body) || body[i+1] != '\\' || body[i+2] != 'u' {
					return errEscape
				}
				if lo, ok := hex4(body, i+3); !ok || lo < 0xDC00 || lo > 0xDFFF {
					return errEscape
				}
				i += 6
			}
		}
	}
	return nil
}

// hex4 reads four hex digits at body[at:].
func hex4(body []byte, at int) (rune, bool) {
	if at+4 > len(body) {
		return 0, false
	}
	var u rune
	for _, c := range body[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			u = u<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			u = u<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			u = u<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return u, true
}
