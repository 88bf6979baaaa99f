package webhook

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
)

// WeCom (企业微信) app messages, decrypted: <xml><ToUserName> (the corp id),
// <FromUserName> (the sender's user id), <CreateTime>, <MsgType>,
// <Content>, <MsgId>, <AgentID>, and per type <PicUrl>, <MediaId>, ….
// They name the person by user id only (Event.UserID "corp:user").

// weComMedia are message types whose content is a file or a place:
// referenced, never fetched.
var weComMedia = map[string]bool{"image": true, "voice": true, "video": true, "file": true, "location": true, "link": true}

func mapWeCom(r *reader) (Event, error) {
	typ := r.str("MsgType")
	switch {
	case typ == "event":
		// enter_agent, subscribe, LOCATION, click, view, …: no message.
		t := token(r.str("Event"))
		if t == "" {
			t = "event"
		}
		return Event{Type: t, Ignore: true}, nil
	case typ == "text" || weComMedia[typ]:
	default:
		return Event{}, unmappable("wecom message type " + name(typ) + " is not taken")
	}
	corp, from := r.str("ToUserName"), r.str("FromUserName")
	if from == "" {
		return Event{}, unmappable("wecom message has no FromUserName")
	}
	if corp == "" {
		return Event{}, unmappable("wecom message has no ToUserName")
	}
	ev := Event{
		ID:        r.str("MsgId"),
		Type:      typ,
		UserID:    corp + ":" + from,
		Direction: Inbound,
		At:        unixTime(r.str("CreateTime")),
	}
	// The conversation is the app (agent) the person wrote to; the
	// person's own user id is an identifier, sealed, never a plain label.
	if agent := r.str("AgentID"); agent != "" {
		ev.Conversation = "agent:" + agent
	}
	// Only an opaque MediaId is kept as a reference (attachments are not
	// sealed); a link's title and Url can say anything of the person, so
	// they are its text, sealed. Image URLs (PicUrl) are not kept.
	switch typ {
	case "text":
		ev.Text = r.str("Content")
	case "location":
		ev.Text = "location" // the coordinates are not kept
	case "link":
		ev.Text = strings.TrimSpace(r.str("Title") + "\n" + r.str("Url"))
	}
	if ref := r.str("MediaId"); ref != "" {
		ev.Attachments = []string{ref}
	}
	if r.err != nil {
		return Event{}, r.err
	}
	return ev, nil
}

// xmlDoc is an XML payload as a tree of elements; paths name elements
// below the root ("FromUserName", or dot-separated for nested ones).
type xmlDoc struct{ root *xmlNode }

type xmlNode struct {
	name     string
	text     []byte
	children []*xmlNode
}

func parseXML(payload []byte) (*xmlDoc, error) {
	d := xml.NewDecoder(bytes.NewReader(payload))
	var root *xmlNode
	var stack []*xmlNode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, unmappable("payload is not XML")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: t.Name.Local}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.children = append(top.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.text = append(top.text, t...)
			}
		}
		if root != nil && len(stack) == 0 {
			break // the root element is complete
		}
	}
	if root == nil || len(stack) > 0 {
		return nil, unmappable("payload is not XML")
	}
	return &xmlDoc{root: root}, nil
}

func (x *xmlDoc) value(path string) (string, error) {
	n := x.root
	for _, seg := range strings.Split(path, ".") {
		var next *xmlNode
		for _, c := range n.children {
			if c.name == seg {
				next = c
				break
			}
		}
		if next == nil {
			return "", nil
		}
		n = next
	}
	if n == x.root || len(n.children) > 0 {
		return "", unmappable(path + " is an element with children, not a value")
	}
	return string(n.text), nil
}
