package webhook

// Zendesk: the JSON body of a webhook called from a trigger, as the README
// ships it (Zendesk's event subscriptions carry ids only):
//
//	{"ticket": {"id": "{{ticket.id}}", "updated_at": "{{ticket.updated_at_with_timestamp}}",
//	  "subject": "{{ticket.title}}",
//	  "latest_public_comment": "{{ticket.latest_public_comment}}",
//	  "requester": {"name": "{{ticket.requester.name}}",
//	    "email": "{{ticket.requester.email}}", "phone": "{{ticket.requester.phone}}"}}}
//
// A placeholder Zendesk did not fill counts as missing. ID stays empty:
// the invocation id header is not signed, so the caller takes the event
// once by a hash of the signed body (updated_at keeps two updates apart).
func mapZendesk(r *reader) (Event, error) {
	if !r.isObject("ticket") {
		return Event{}, unmappable("zendesk payload has no ticket")
	}
	ev := Event{Type: "ticket", Direction: Inbound, Conversation: r.str("ticket.id")}
	ev.Text = r.str("ticket.latest_public_comment")
	if ev.Text == "" {
		ev.Text = r.str("ticket.subject")
	}
	ev.setField("email", r.str("ticket.requester.email"))
	ev.setField("phone", r.str("ticket.requester.phone"))
	ev.setField("name", r.str("ticket.requester.name"))
	if r.err != nil {
		return Event{}, r.err
	}
	return ev, nil
}
