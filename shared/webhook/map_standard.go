package webhook

import "time"

// Standard Webhooks, chat source: {"type": "message.created", "timestamp":
// RFC 3339, "data": {"conversation_id", "customer": {"email", "phone",
// "name"}, "text", "direction"?}}. The event id is the delivery's
// webhook-id, which the caller has.
func mapStandard(r *reader) (Event, error) {
	typ := r.str("type")
	if typ != "message.created" {
		return Event{}, unmappable("standard event type " + name(typ) + " is not taken by a chat source")
	}
	if !r.isObject("data") {
		return Event{}, unmappable("standard message.created has no data")
	}
	ev := Event{Type: typ, Direction: Inbound, Conversation: r.str("data.conversation_id"), Text: r.str("data.text")}
	if d := r.str("data.direction"); d == Inbound || d == Outbound {
		ev.Direction = d
	}
	if at, err := time.Parse(time.RFC3339Nano, r.str("timestamp")); err == nil {
		ev.At = at
	}
	ev.setField("email", r.str("data.customer.email"))
	ev.setField("phone", r.str("data.customer.phone"))
	ev.setField("name", r.str("data.customer.name"))
	if r.err != nil {
		return Event{}, r.err
	}
	return ev, nil
}
