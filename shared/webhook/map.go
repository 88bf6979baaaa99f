package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pseudo-targets of a source's map: they set the interaction's text and
// conversation id instead of a catalogue field.
const (
	TargetText         = "text"
	TargetConversation = "conversation"
)

// Map reads an authentic payload (already verified; for WeCom the
// decrypted message XML) into an Event. A payload kehu does not take
// answers an *UnmappableError whose reason never quotes the payload; one
// that carries nothing of use answers an Ignore event, and Slack's URL
// verification a Challenge event.
//
// mapping, when non-empty, is a source's own map: payload path → catalogue
// field (or TargetText, TargetConversation). A path is dot-separated, with
// numeric array indexes ("data.item.conversation_parts.conversation_parts.0.body";
// a negative index counts from the end); for WeCom it is an element name
// ("FromUserName"). A string or number at a path is its value (a number as
// its literal text); a missing path or null is skipped; an object, array
// or boolean makes the payload unmappable. When the map names any
// catalogue field it replaces the provider's default fields entirely;
// TargetText and TargetConversation replace the default text and
// conversation when their path holds a value. If several paths name the
// same target, the first present in path order wins.
//
// Map never touches the network: Slack and WeCom name the person by the
// tool's user id only (Event.UserID); see Directory for the lookups.
func Map(p Provider, payload []byte, mapping map[string]string) (Event, error) {
	var (
		doc document
		ev  Event
		err error
	)
	switch p {
	case WeCom:
		var x *xmlDoc
		if x, err = parseXML(payload); err != nil {
			return Event{}, err
		}
		doc = x
		ev, err = mapWeCom(&reader{doc: x, p: p})
	case Intercom, Zendesk, Slack, Standard:
		var j jsonDoc
		if j, err = parseJSON(payload); err != nil {
			return Event{}, err
		}
		doc = j
		r := &reader{doc: j, p: p}
		switch p {
		case Intercom:
			ev, err = mapIntercom(r)
		case Zendesk:
			ev, err = mapZendesk(r)
		case Slack:
			ev, err = mapSlack(r)
		case Standard:
			ev, err = mapStandard(r)
		}
	default:
		return Event{}, fmt.Errorf("unknown provider %q", p)
	}
	if err != nil {
		return Event{}, err
	}
	if ev.Ignore || ev.Challenge != "" {
		return ev, nil
	}
	if len(mapping) > 0 {
		if err := remap(p, doc, mapping, &ev); err != nil {
			return Event{}, err
		}
	}
	if p == Intercom && ev.Direction == Outbound && ev.Fields["email"] == "" {
		// The reply's author is an admin: never the customer.
		return Event{}, unmappable("intercom " + ev.Type + " names no customer email")
	}
	if len(ev.Fields) == 0 && ev.UserID == "" {
		return Event{}, unmappable(fmt.Sprintf("%s %s names no one (no field and no user id)", p, ev.Type))
	}
	return ev, nil
}

// remap applies a source's own map to a taken event.
func remap(p Provider, doc document, mapping map[string]string, ev *Event) error {
	paths := make([]string, 0, len(mapping))
	custom := false
	for path, target := range mapping {
		paths = append(paths, path)
		if target != TargetText && target != TargetConversation {
			custom = true
		}
	}
	slices.Sort(paths)
	r := &reader{doc: doc, p: p}
	fields := map[string]string{}
	var text, conversation string
	for _, path := range paths {
		target := strings.TrimSpace(mapping[path])
		if target == "" {
			return unmappable(fmt.Sprintf("map path %s names no target", path))
		}
		v := r.str(path)
		if r.err != nil {
			return r.err
		}
		if v == "" {
			continue
		}
		switch target {
		case TargetText:
			if text == "" {
				if p == Intercom {
					v = htmlToText(v)
				}
				text = v
			}
		case TargetConversation:
			if conversation == "" {
				conversation = v
			}
		default:
			if _, ok := fields[target]; !ok {
				fields[target] = v
			}
		}
	}
	if custom {
		ev.Fields = nil
		for k, v := range fields {
			ev.setField(k, v)
		}
	}
	if text != "" {
		ev.Text = text
	}
	if conversation != "" {
		ev.Conversation = conversation
	}
	return nil
}

func (ev *Event) setField(name, value string) {
	if value == "" {
		return
	}
	if ev.Fields == nil {
		ev.Fields = map[string]string{}
	}
	ev.Fields[name] = value
}

// document is a parsed payload: value answers the string or number at a
// path, "" for a missing path or null, and an *UnmappableError for an
// object, an array or a boolean.
type document interface {
	value(path string) (string, error)
}

// reader reads values from a document, keeping the first error met so that
// a mapper reads on and checks once.
type reader struct {
	doc document
	p   Provider
	err error
}

// str is the trimmed value at path, "" when missing; Zendesk placeholders
// left unfilled ("{{ticket.requester.phone}}") count as missing.
func (r *reader) str(path string) string {
	v, err := r.doc.value(path)
	if err != nil {
		if r.err == nil {
			r.err = err
		}
		return ""
	}
	v = strings.TrimSpace(v)
	if r.p == Zendesk && strings.HasPrefix(v, "{{") && strings.HasSuffix(v, "}}") {
		return ""
	}
	return v
}

// node is the JSON value at path (nil when missing or not JSON).
func (r *reader) node(path string) any {
	if j, ok := r.doc.(jsonDoc); ok {
		return j.node(path)
	}
	return nil
}

// isObject reports whether path holds a JSON object.
func (r *reader) isObject(path string) bool {
	_, ok := r.node(path).(map[string]any)
	return ok
}

// length is the length of the JSON array at path, 0 when it is none.
func (r *reader) length(path string) int {
	a, _ := r.node(path).([]any)
	return len(a)
}

// jsonDoc is a JSON payload decoded with numbers kept as their text.
type jsonDoc struct{ root map[string]any }

func parseJSON(payload []byte) (jsonDoc, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return jsonDoc{}, unmappable("payload is not JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return jsonDoc{}, unmappable("payload is not JSON")
	}
	root, ok := v.(map[string]any)
	if !ok {
		return jsonDoc{}, unmappable("payload is not a JSON object")
	}
	return jsonDoc{root: root}, nil
}

func (j jsonDoc) node(path string) any {
	var cur any = j.root
	for _, seg := range strings.Split(path, ".") {
		switch n := cur.(type) {
		case map[string]any:
			cur = n[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil {
				return nil
			}
			if i < 0 {
				i += len(n)
			}
			if i < 0 || i >= len(n) {
				return nil
			}
			cur = n[i]
		default:
			return nil
		}
	}
	return cur
}

func (j jsonDoc) value(path string) (string, error) {
	switch v := j.node(path).(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return "", unmappable(path + " is a boolean, not a string or number")
	case []any:
		return "", unmappable(path + " is an array, not a string or number")
	default:
		return "", unmappable(path + " is an object, not a string or number")
	}
}

// token is s if it is a plain name (an event type, a topic, an error
// code) that may appear in a reason or a metric, else "".
func token(s string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == ':' || c == '/'
		if !ok {
			return ""
		}
	}
	return s
}

// name is s for a reason: the plain name, or a placeholder.
func name(s string) string {
	switch {
	case s == "":
		return "(none)"
	case token(s) == "":
		return "(not a plain name)"
	}
	return s
}

// maxUnix is 9999-12-31T23:59:59Z.
const maxUnix = 253402300799

// unixTime reads whole unix seconds; zero when s is not one.
func unixTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > maxUnix {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// firstTime is the first non-zero time.
func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
