package webhook

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The payloads in testdata/ are real-shaped: published samples where the
// provider published one (intercom-ping.json is the captured ping, byte
// for byte the body of the research file's LOCAL signature vector;
// intercom-conversation-user-created-v1.json is Intercom's archived sample;
// wecom-text-sample.xml is the decrypted message of Tencent's
// WXBizMsgCrypt POST vector; slack-message.json and
// slack-url-verification.json are Slack's documentation examples), the
// documented shapes otherwise.

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// provider is the provider a testdata file is for, from its name.
func provider(name string) Provider {
	p, _, _ := strings.Cut(name, "-")
	return Provider(p)
}

// canary is a value planted in payloads that must never reach a reason.
const canary = "canary"

var mapCases = []struct {
	file string
	want Event
}{
	{"intercom-conversation-user-created.json", Event{
		ID: "notif_5c1e2f30-27c3-11ef-9a1b-0242ac120002", Type: "conversation.user.created",
		Fields:       map[string]string{"email": "ada.lovelace@example.com", "name": "Ada Lovelace"},
		Conversation: "147000000123", Direction: Inbound, At: time.Unix(1718000000, 0).UTC(),
		Text: "Hi, my order & invoice don't match.\nOrder #1042\nThanks!",
	}},
	{"intercom-conversation-user-created-v1.json", Event{
		ID: "notif_480fa0f0-070a-11e6-b031-1b282118ed92", Type: "conversation.user.created",
		Fields:       map[string]string{"name": "Jane Doe"}, // its email is ""
		Conversation: "4584686769", Direction: Inbound, At: time.Unix(1461165141, 0).UTC(),
		Text: "visitor initiated message 1",
	}},
	{"intercom-conversation-user-replied.json", Event{
		ID: "notif_9d8e7f60-27c4-11ef-9a1b-0242ac120002", Type: "conversation.user.replied",
		Fields:       map[string]string{"email": "ada.lovelace@example.com", "name": "Ada Lovelace"},
		Conversation: "147000000123", Direction: Inbound, At: time.Unix(1718000900, 0).UTC(),
		Text: "It is order #1042.\nAny update?",
	}},
	{"intercom-conversation-admin-replied.json", Event{
		ID: "notif_b4c5d6e0-27c4-11ef-9a1b-0242ac120002", Type: "conversation.admin.replied",
		// The customer, never the replying admin (sam.support@…).
		Fields:       map[string]string{"email": "ada.lovelace@example.com", "name": "Ada Lovelace"},
		Conversation: "147000000123", Direction: Outbound, At: time.Unix(1718001200, 0).UTC(),
		Text: "Thanks Ada – the corrected invoice is on its way.",
	}},
	{"intercom-ping.json", Event{Type: "ping", Ignore: true}},

	{"zendesk-ticket.json", Event{
		Type:         "ticket",
		Fields:       map[string]string{"email": "grace.hopper@example.com", "phone": "+1 415 555 0142", "name": "Grace Hopper"},
		Conversation: "35436", Direction: Inbound,
		Text: "Hello, the invoice for order 1042 shows the wrong amount. Can you check?",
	}},
	{"zendesk-ticket-unfilled.json", Event{
		Type: "ticket",
		// The unfilled {{ticket.requester.phone}} is no phone; the
		// unfilled comment falls back to the subject.
		Fields:       map[string]string{"email": "katherine.johnson@example.com", "name": "Katherine Johnson"},
		Conversation: "35437", Direction: Inbound, Text: "Question about delivery times",
	}},

	{"slack-url-verification.json", Event{Type: "url_verification", Challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}},
	{"slack-app-rate-limited.json", Event{Type: "app_rate_limited", Ignore: true}},
	{"slack-message.json", Event{
		ID: "Ev123ABC456", Type: "message", UserID: "T123ABC456:U123ABC456",
		Conversation: "C123ABC456", Direction: Inbound, At: time.Unix(1355517523, 5000).UTC(),
		Text: "Live long and prospect.",
	}},
	{"slack-message-thread-files.json", Event{
		ID: "Ev07ABCDEF99", Type: "message", UserID: "T123ABC456:U061F7AUR",
		Conversation: "D024BE91L:1718000900.000200", Direction: Inbound, At: time.Unix(1718000950, 123456000).UTC(),
		Text: "Here is the photo of the damaged parcel", Attachments: []string{"F07ABCDEF12", "F07ABCDEF13"},
	}},
	{"slack-message-bot.json", Event{ID: "Ev07BOT00001", Type: "message", Ignore: true}},
	{"slack-message-changed.json", Event{ID: "Ev07EDIT0001", Type: "message", Ignore: true}},
	{"slack-reaction-added.json", Event{ID: "Ev07REACT001", Type: "reaction_added", Ignore: true}},

	{"wecom-text-sample.xml", Event{
		ID: "4561255354251345929", Type: "text", UserID: "wx5823bf96d3bd56c7:mycreate",
		Conversation: "agent:218", Direction: Inbound, At: time.Unix(1409659813, 0).UTC(), Text: "hello",
	}},
	{"wecom-text.xml", Event{
		ID: "7381234567890123456", Type: "text", UserID: "ww1a2b3c4d5e6f7a8b:zhangsan",
		Conversation: "agent:1000002", Direction: Inbound, At: time.Unix(1718000000, 0).UTC(),
		Text: "你好，我的订单 1042 还没有发货。",
	}},
	{"wecom-image.xml", Event{
		ID: "7381234567890123457", Type: "image", UserID: "ww1a2b3c4d5e6f7a8b:zhangsan",
		Conversation: "agent:1000002", Direction: Inbound, At: time.Unix(1718000060, 0).UTC(),
		Attachments: []string{"2-G6nrLmr5EC3MMb_-zK1dDdzmd0p7cNliYu9V5w7o8K0"},
	}},
	{"wecom-location.xml", Event{
		ID: "7381234567890123458", Type: "location", UserID: "ww1a2b3c4d5e6f7a8b:zhangsan",
		Conversation: "agent:1000002", Direction: Inbound, At: time.Unix(1718000120, 0).UTC(),
		Text: "location", // the coordinates and label are not kept
	}},
	{"wecom-link.xml", Event{
		ID: "7381234567890123459", Type: "link", UserID: "ww1a2b3c4d5e6f7a8b:zhangsan",
		Conversation: "agent:1000002", Direction: Inbound, At: time.Unix(1718000180, 0).UTC(),
		Text: "订单 1042\nhttps://shop.example.com/orders/1042", // sealed as the text, never a plain reference
	}},
	{"wecom-enter-agent.xml", Event{Type: "enter_agent", Ignore: true}},

	{"standard-message-created.json", Event{
		Type:         "message.created",
		Fields:       map[string]string{"email": "mary.jackson@example.com", "phone": "+44 20 7946 0958", "name": "Mary Jackson"},
		Conversation: "conv_01J0A8ZK3V6Q", Direction: Inbound, At: time.Date(2024, 6, 10, 6, 15, 30, 250e6, time.UTC),
		Text: "Hello, I would like to change the delivery address of my order.",
	}},
	{"standard-message-outbound.json", Event{
		Type:         "message.created",
		Fields:       map[string]string{"email": "mary.jackson@example.com", "name": "Mary Jackson"},
		Conversation: "conv_01J0A8ZK3V6Q", Direction: Outbound, At: time.Date(2024, 6, 10, 6, 20, 0, 0, time.UTC),
		Text: "Done: the new address is on the order.",
	}},
}

func TestMapDefaults(t *testing.T) {
	for _, c := range mapCases {
		t.Run(c.file, func(t *testing.T) {
			got, err := Map(provider(c.file), testdata(t, c.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Map =\n%#v\nwant\n%#v", got, c.want)
			}
			checkEvent(t, got, nil)
		})
	}
}

// edit returns a testdata JSON payload with fn applied to it.
func edit(t *testing.T, file string, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(testdata(t, file), &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at is the object at a dotted path of m.
func at(m map[string]any, path string) map[string]any {
	for _, k := range strings.Split(path, ".") {
		m = m[k].(map[string]any)
	}
	return m
}

var unmappableCases = []struct {
	name    string
	p       Provider
	payload func(t *testing.T) []byte
	reason  string // the reason, exactly
}{
	{"intercom topic not taken", Intercom, file("intercom-conversation-admin-closed.json"),
		"intercom topic conversation.admin.closed is not taken"},
	{"intercom admin reply without customer email", Intercom, file("intercom-conversation-admin-replied-no-email.json"),
		"intercom conversation.admin.replied names no customer email"},
	{"intercom user reply whose last part is an admin's", Intercom, func(t *testing.T) []byte {
		return edit(t, "intercom-conversation-admin-replied-no-email.json", func(m map[string]any) { m["topic"] = "conversation.user.replied" })
	}, "intercom conversation.user.replied last part is not by a user, lead or contact"},
	{"intercom user reply without parts", Intercom, func(t *testing.T) []byte {
		return edit(t, "intercom-conversation-admin-closed.json", func(m map[string]any) {
			m["topic"] = "conversation.user.replied"
			at(m, "data.item.conversation_parts")["conversation_parts"] = []any{}
		})
	}, "intercom conversation.user.replied has no conversation part"},
	{"intercom created by an admin", Intercom, func(t *testing.T) []byte {
		return edit(t, "intercom-conversation-admin-closed.json", func(m map[string]any) {
			m["topic"] = "conversation.user.created"
			at(m, "data.item.source.author")["type"] = "admin"
		})
	}, "intercom conversation.user.created author is not a user, lead or contact"},
	{"intercom created without a message", Intercom, func(t *testing.T) []byte {
		return edit(t, "intercom-conversation-admin-closed.json", func(m map[string]any) {
			m["topic"] = "conversation.user.created"
			delete(at(m, "data.item"), "source")
			m["app_id"] = "secret-canary"
		})
	}, "intercom conversation.user.created has no source message"},
	{"intercom lead with neither email nor name", Intercom, func(t *testing.T) []byte {
		return edit(t, "intercom-conversation-admin-replied-no-email.json", func(m map[string]any) { m["topic"] = "conversation.user.created" })
	}, "intercom conversation.user.created names no one (no field and no user id)"},
	{"intercom without topic", Intercom, inline(`{"type":"notification_event","id":"notif_secret-canary","data":{}}`),
		"intercom notification has no topic"},
	{"intercom topic not a plain name", Intercom, inline(`{"type":"notification_event","topic":"secret canary@example.com"}`),
		"intercom topic (not a plain name) is not taken"},
	{"intercom not a notification", Intercom, inline(`{"type":"secret-canary","topic":"ping"}`),
		"intercom payload is not a notification_event"},
	{"intercom body is an object", Intercom, func(t *testing.T) []byte {
		return edit(t, "intercom-conversation-user-created.json", func(m map[string]any) {
			at(m, "data.item.source")["body"] = map[string]any{"html": "secret-canary@example.com"}
		})
	}, "data.item.source.body is an object, not a string or number"},

	{"zendesk event subscription", Zendesk, file("zendesk-event-subscription.json"), "zendesk payload has no ticket"},
	{"zendesk nothing filled", Zendesk, inline(`{"ticket":{"id":"{{ticket.id}}","subject":"secret canary","requester":{"name":"{{ticket.requester.name}}","email":"{{ticket.requester.email}}","phone":""}}}`),
		"zendesk ticket names no one (no field and no user id)"},
	{"zendesk email is an object", Zendesk, inline(`{"ticket":{"id":"1","requester":{"email":{"value":"secret-canary@example.com"}}}}`),
		"ticket.requester.email is an object, not a string or number"},
	{"zendesk email is a boolean", Zendesk, inline(`{"ticket":{"id":"secret-canary","requester":{"email":true}}}`),
		"ticket.requester.email is a boolean, not a string or number"},

	{"slack event type not taken", Slack, file("slack-team-join.json"), "slack event type team_join is not taken"},
	{"slack message without user", Slack, file("slack-message-no-user.json"), "slack event has no user"},
	{"slack message without team", Slack, func(t *testing.T) []byte {
		return edit(t, "slack-message-no-user.json", func(m map[string]any) {
			delete(m, "team_id")
			at(m, "event")["user"] = "U0CANARY01"
		})
	}, "slack event has no team_id"},
	{"slack payload type not taken", Slack, inline(`{"type":"block_actions","user":{"id":"U0CANARY01","name":"secret-canary"}}`),
		"slack payload type block_actions is not taken"},
	{"slack callback without event", Slack, inline(`{"type":"event_callback","team_id":"T1","event_id":"Ev-secret-canary"}`),
		"slack event_callback has no event"},
	{"slack challenge missing", Slack, inline(`{"type":"url_verification","token":"secret-canary"}`),
		"slack url_verification has no challenge"},

	{"wecom type not taken", WeCom, file("wecom-unknown-type.xml"), "wecom message type miniprogram is not taken"},
	{"wecom without sender", WeCom, inline(`<xml><ToUserName>ww1</ToUserName><MsgType>text</MsgType><Content>secret-canary@example.com</Content></xml>`),
		"wecom message has no FromUserName"},
	{"wecom without corp", WeCom, inline(`<xml><FromUserName>secret-canary</FromUserName><MsgType>text</MsgType></xml>`),
		"wecom message has no ToUserName"},
	{"wecom content with children", WeCom, inline(`<xml><ToUserName>ww1</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><Content><b>secret-canary</b></Content></xml>`),
		"Content is an element with children, not a value"},
	{"wecom not XML", WeCom, inline(`secret-canary@example.com`), "payload is not XML"},
	{"wecom truncated XML", WeCom, inline(`<xml><FromUserName>secret-canary</FromUserName>`), "payload is not XML"},

	{"standard order event", Standard, file("standard-order-created.json"), "standard event type order.created is not taken by a chat source"},
	{"standard type not a plain name", Standard, inline(`{"type":"secret-canary@example.com"}`),
		"standard event type (not a plain name) is not taken by a chat source"},
	{"standard without data", Standard, inline(`{"type":"message.created","timestamp":"secret-canary"}`), "standard message.created has no data"},
	{"standard without customer", Standard, inline(`{"type":"message.created","data":{"conversation_id":"c1","text":"secret-canary@example.com"}}`),
		"standard message.created names no one (no field and no user id)"},

	{"intercom not JSON", Intercom, inline(`secret-canary@example.com`), "payload is not JSON"},
	{"zendesk JSON with trailing data", Zendesk, inline(`{"ticket":{}} {"secret-canary":1}`), "payload is not JSON"},
	{"slack JSON array", Slack, inline(`["secret-canary@example.com"]`), "payload is not a JSON object"},
	{"standard empty body", Standard, inline(``), "payload is not JSON"},
}

func file(name string) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return testdata(t, name) }
}

func inline(s string) func(t *testing.T) []byte {
	return func(*testing.T) []byte { return []byte(s) }
}

func TestMapUnmappable(t *testing.T) {
	for _, c := range unmappableCases {
		t.Run(c.name, func(t *testing.T) {
			payload := c.payload(t)
			if len(payload) > 0 && !strings.Contains(string(payload), canary) {
				t.Fatal("the case's payload must carry the canary")
			}
			ev, err := Map(c.p, payload, nil)
			var u *UnmappableError
			if !errors.As(err, &u) {
				t.Fatalf("Map = %+v, %v; want an *UnmappableError", ev, err)
			}
			if !reflect.DeepEqual(ev, Event{}) {
				t.Errorf("an unmappable payload gave an event: %+v", ev)
			}
			if u.Reason != c.reason {
				t.Errorf("reason %q, want %q", u.Reason, c.reason)
			}
			noPayloadIn(t, c.p, payload, u.Reason)
		})
	}
}

// noPayloadIn checks that a reason quotes nothing of the payload but the
// event type or topic it names.
func noPayloadIn(t *testing.T, p Provider, payload []byte, reason string) {
	t.Helper()
	if strings.Contains(reason, canary) {
		t.Errorf("reason %q quotes the payload", reason)
	}
	var leaves []string
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				walk(c, k)
			}
		case []any:
			for _, c := range v {
				walk(c, key)
			}
		case string:
			if key != "type" && key != "topic" && len(v) >= 10 {
				leaves = append(leaves, v)
			}
		}
	}
	var v any
	if p != WeCom && json.Unmarshal(payload, &v) == nil {
		walk(v, "")
	}
	for _, l := range leaves {
		if strings.Contains(reason, l) {
			t.Errorf("reason %q quotes the payload value %q", reason, l)
		}
	}
}

func TestMapOverride(t *testing.T) {
	standard := func(data string) []byte {
		return []byte(`{"type":"message.created","timestamp":"2024-06-10T06:15:30Z","data":` + data + `}`)
	}
	cases := []struct {
		name    string
		p       Provider
		payload []byte
		mapping map[string]string
		fields  map[string]string // the event's Fields
		text    string            // the event's Text when not ""
		conv    string            // the event's Conversation when not ""
		reason  string            // an *UnmappableError's reason when not ""
	}{
		{name: "custom path to email replaces the defaults", p: Intercom,
			payload: testdata(t, "intercom-conversation-user-created.json"),
			mapping: map[string]string{"data.item.source.author.email": "email", "data.item.contacts.contacts.0.external_id": "customer_ref"},
			fields:  map[string]string{"email": "ada.lovelace@example.com", "customer_ref": "cust-70001"}},
		{name: "negative index counts from the end", p: Intercom,
			payload: testdata(t, "intercom-conversation-user-replied.json"),
			mapping: map[string]string{
				"data.item.conversation_parts.conversation_parts.-1.author.email": "email",
				"data.item.conversation_parts.conversation_parts.0.body":          "text",
			},
			fields: map[string]string{"email": "ada.lovelace@example.com"}, text: "Hello Ada, which order number is it?"},
		{name: "numeric values as their literal text", p: Standard,
			payload: standard(`{"conversation_id":42,"customer":{"email":"a@example.com","phone":4155550100,"size":1.5e3}}`),
			mapping: map[string]string{"data.customer.email": "email", "data.customer.phone": "phone", "data.customer.size": "size", "data.conversation_id": "conversation"},
			fields:  map[string]string{"email": "a@example.com", "phone": "4155550100", "size": "1.5e3"}, conv: "42"},
		{name: "missing path and null are skipped", p: Standard,
			payload: standard(`{"customer":{"email":"a@example.com","fax":null}}`),
			mapping: map[string]string{"data.customer.email": "email", "data.customer.fax": "fax", "data.customer.pager": "pager", "data.nothing.here.0": "x"},
			fields:  map[string]string{"email": "a@example.com"}},
		{name: "empty strings are not fields", p: Standard,
			payload: standard(`{"customer":{"email":"a@example.com","phone":"  "}}`),
			mapping: map[string]string{"data.customer.email": "email", "data.customer.phone": "phone"},
			fields:  map[string]string{"email": "a@example.com"}},
		{name: "only pseudo-targets keep the default fields", p: Standard,
			payload: standard(`{"customer":{"email":"a@example.com"},"subject":"Refund","thread":"t-9","text":"body"}`),
			mapping: map[string]string{"data.subject": "text", "data.thread": "conversation"},
			fields:  map[string]string{"email": "a@example.com"}, text: "Refund", conv: "t-9"},
		{name: "first path in order wins for one target", p: Standard,
			payload: standard(`{"a":"first@example.com","b":"second@example.com"}`),
			mapping: map[string]string{"data.b": "email", "data.a": "email"},
			fields:  map[string]string{"email": "first@example.com"}},
		{name: "intercom mapped text is HTML", p: Intercom,
			payload: testdata(t, "intercom-conversation-user-created.json"),
			mapping: map[string]string{"data.item.source.body": "text"},
			fields:  map[string]string{"email": "ada.lovelace@example.com", "name": "Ada Lovelace"},
			text:    "Hi, my order & invoice don't match.\nOrder #1042\nThanks!"},
		{name: "zendesk placeholders are missing at any path", p: Zendesk,
			payload: []byte(`{"ticket":{"id":"7","custom":{"ref":"{{ticket.external_id}}","mail":"z@example.com"}}}`),
			mapping: map[string]string{"ticket.custom.ref": "customer_ref", "ticket.custom.mail": "email"},
			fields:  map[string]string{"email": "z@example.com"}},
		{name: "wecom element names", p: WeCom,
			payload: testdata(t, "wecom-text-sample.xml"),
			mapping: map[string]string{"FromUserName": "wecom_user", "Content": "text", "AgentID": "agent"},
			fields:  map[string]string{"wecom_user": "mycreate", "agent": "218"}, text: "hello"},

		{name: "path to an object", p: Standard,
			payload: standard(`{"customer":{"email":"secret-canary@example.com"}}`),
			mapping: map[string]string{"data.customer": "email"},
			reason:  "data.customer is an object, not a string or number"},
		{name: "path to an array", p: Slack,
			payload: testdata(t, "slack-message-thread-files.json"),
			mapping: map[string]string{"event.files": "attachments"},
			reason:  "event.files is an array, not a string or number"},
		{name: "path to a boolean", p: Standard,
			payload: standard(`{"customer":{"email":"secret-canary@example.com","vip":true}}`),
			mapping: map[string]string{"data.customer.vip": "tier", "data.customer.email": "email"},
			reason:  "data.customer.vip is a boolean, not a string or number"},
		{name: "wecom path to an element with children", p: WeCom,
			payload: []byte(`<xml><ToUserName>ww1</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType><Extra><Mail>secret-canary@example.com</Mail></Extra></xml>`),
			mapping: map[string]string{"Extra": "email"},
			reason:  "Extra is an element with children, not a value"},
		{name: "empty target", p: Standard,
			payload: standard(`{"customer":{"email":"secret-canary@example.com"}}`),
			mapping: map[string]string{"data.customer.email": " "},
			reason:  "map path data.customer.email names no target"},
		{name: "a map that finds no one", p: Standard,
			payload: standard(`{"customer":{"email":"secret-canary@example.com"}}`),
			mapping: map[string]string{"data.customer.mail": "email"},
			reason:  "standard message.created names no one (no field and no user id)"},
		{name: "admin reply still needs a customer email", p: Intercom,
			payload: testdata(t, "intercom-conversation-admin-replied.json"),
			mapping: map[string]string{"data.item.source.author.name": "name"},
			reason:  "intercom conversation.admin.replied names no customer email"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := Map(c.p, c.payload, c.mapping)
			if c.reason != "" {
				var u *UnmappableError
				if !errors.As(err, &u) {
					t.Fatalf("Map = %+v, %v; want an *UnmappableError", ev, err)
				}
				if u.Reason != c.reason {
					t.Errorf("reason %q, want %q", u.Reason, c.reason)
				}
				noPayloadIn(t, c.p, c.payload, u.Reason)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkEvent(t, ev, nil)
			if !reflect.DeepEqual(ev.Fields, c.fields) {
				t.Errorf("Fields = %v, want %v", ev.Fields, c.fields)
			}
			if c.text != "" && ev.Text != c.text {
				t.Errorf("Text = %q, want %q", ev.Text, c.text)
			}
			if c.conv != "" && ev.Conversation != c.conv {
				t.Errorf("Conversation = %q, want %q", ev.Conversation, c.conv)
			}
		})
	}
}

// A source's map never turns an acknowledged event into a stored one.
func TestMapOverrideKeepsIgnoreAndChallenge(t *testing.T) {
	mapping := map[string]string{"token": "email", "data.item.message": "text", "Event": "name"}
	for _, f := range []string{"intercom-ping.json", "slack-url-verification.json", "slack-message-bot.json", "wecom-enter-agent.xml"} {
		t.Run(f, func(t *testing.T) {
			ev, err := Map(provider(f), testdata(t, f), mapping)
			if err != nil {
				t.Fatal(err)
			}
			if !ev.Ignore && ev.Challenge == "" {
				t.Errorf("Map = %+v, want Ignore or Challenge", ev)
			}
			checkEvent(t, ev, nil)
		})
	}
}

func TestMapLegacyIntercomReply(t *testing.T) {
	// v1 parts name their author by id only; the conversation's user,
	// with the same id, says who it is.
	payload := edit(t, "intercom-conversation-user-created-v1.json", func(m map[string]any) {
		m["topic"] = "conversation.user.replied"
		at(m, "data.item.user")["email"] = "jane.doe@example.com"
		at(m, "data.item.conversation_parts")["conversation_parts"] = []any{map[string]any{
			"type": "conversation_part", "id": "27056700", "part_type": "comment", "body": "<p>visitor reply 2</p>",
			"created_at": 1461165200, "author": map[string]any{"type": "user", "id": "57179c30c776e05d4c0002a8"},
		}}
	})
	ev, err := Map(Intercom, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"email": "jane.doe@example.com", "name": "Jane Doe"}
	if !reflect.DeepEqual(ev.Fields, want) || ev.Text != "visitor reply 2" || !ev.At.Equal(time.Unix(1461165200, 0)) {
		t.Errorf("Map = %+v", ev)
	}
}

func TestMapUnknownProvider(t *testing.T) {
	_, err := Map("telegram", []byte(`{}`), nil)
	var u *UnmappableError
	if err == nil || errors.As(err, &u) {
		t.Errorf("Map(unknown provider) = %v, want a plain error", err)
	}
}

func TestMapLongTextIsNotAnError(t *testing.T) {
	long := strings.Repeat("é", 20000)
	payload := []byte(`{"type":"message.created","data":{"customer":{"email":"a@example.com"},"text":"` + long + `"}}`)
	ev, err := Map(Standard, payload, nil)
	if err != nil || ev.Text != long {
		t.Errorf("Map = %d runes of text, %v", len([]rune(ev.Text)), err)
	}
}

func TestSlackTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
	}{
		{"1355517523.000005", time.Unix(1355517523, 5000)},
		{"1355517523", time.Unix(1355517523, 0)},
		{"1355517523.5", time.Unix(1355517523, 500000000)},
		{"1355517523.x", time.Unix(1355517523, 0)},
		{"", time.Time{}},
		{"-5.1", time.Time{}},
		{"99999999999999999999.1", time.Time{}},
	}
	for _, c := range cases {
		if got := slackTime(c.in); !got.Equal(c.want) {
			t.Errorf("slackTime(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// Every payload in testdata/ is read by a test above.
func TestTestdataIsUsed(t *testing.T) {
	used := map[string]bool{}
	for _, c := range mapCases {
		used[c.file] = true
	}
	for _, name := range []string{"intercom-conversation-admin-closed.json", "intercom-conversation-admin-replied-no-email.json",
		"zendesk-event-subscription.json", "slack-team-join.json", "slack-message-no-user.json", "wecom-unknown-type.xml",
		"standard-order-created.json"} {
		used[name] = true // the unmappable cases
	}
	for _, name := range surveyTestdata {
		used[name] = true // survey_test.go
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*-*.*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if !provider(name).Valid() {
			t.Errorf("%s: not named <provider>-<case>", name)
		}
		if !used[name] {
			t.Errorf("%s is read by no test", name)
		}
	}
}

// checkEvent checks what holds of every Map answer (also under fuzzing).
func checkEvent(t testing.TB, ev Event, err error) {
	t.Helper()
	if err != nil {
		var u *UnmappableError
		if !errors.As(err, &u) {
			t.Fatalf("error %v (%T) is not an *UnmappableError", err, err)
		}
		return
	}
	if ev.Ignore && ev.Challenge != "" {
		t.Errorf("both Ignore and Challenge: %+v", ev)
	}
	if ev.Ignore || ev.Challenge != "" {
		if len(ev.Fields) > 0 || ev.Text != "" || ev.UserID != "" || ev.Conversation != "" || len(ev.Attachments) > 0 {
			t.Errorf("an acknowledged event carries data: %+v", ev)
		}
		return
	}
	if len(ev.Fields) == 0 && ev.UserID == "" {
		t.Errorf("a taken event names no one: %+v", ev)
	}
	for k, v := range ev.Fields {
		if k == "" || strings.TrimSpace(v) == "" {
			t.Errorf("field %q = %q", k, v)
		}
	}
	if ev.Direction != Inbound && ev.Direction != Outbound {
		t.Errorf("direction %q", ev.Direction)
	}
	for _, a := range ev.Attachments {
		if a == "" {
			t.Error("empty attachment reference")
		}
	}
}
