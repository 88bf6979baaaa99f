package webhook

// Intercom notifications: {"type": "notification_event", "id": "notif_…",
// "topic", "created_at", "data": {"item": …}}. data.item is a
// conversation: in API v2 its first message is data.item.source (author
// with type, name, email) and its contacts carry ids only; in the legacy
// v1 shape it is data.item.conversation_message with the person in
// data.item.user. Replies are the last of
// data.item.conversation_parts.conversation_parts. Bodies are HTML.

const intercomParts = "data.item.conversation_parts.conversation_parts"

func mapIntercom(r *reader) (Event, error) {
	if t := r.str("type"); t != "" && t != "notification_event" {
		return Event{}, unmappable("intercom payload is not a notification_event")
	}
	topic := r.str("topic")
	ev := Event{ID: r.str("id"), Type: token(topic)}
	switch topic {
	case "ping":
		return Event{ID: ev.ID, Type: ev.Type, Ignore: true}, nil
	case "conversation.user.created":
		if err := intercomCreated(r, &ev); err != nil {
			return Event{}, err
		}
	case "conversation.user.replied":
		if err := intercomUserReplied(r, &ev); err != nil {
			return Event{}, err
		}
	case "conversation.admin.replied":
		if err := intercomAdminReplied(r, &ev); err != nil {
			return Event{}, err
		}
	case "":
		return Event{}, unmappable("intercom notification has no topic")
	default:
		return Event{}, unmappable("intercom topic " + name(topic) + " is not taken")
	}
	ev.Conversation = r.str("data.item.id")
	if r.err != nil {
		return Event{}, r.err
	}
	return ev, nil
}

// intercomCustomer reports whether an author type is a person kehu may
// take as the customer; "" (not given) is taken where the shape implies
// the customer.
func intercomCustomer(authorType string, allowUnset bool) bool {
	switch authorType {
	case "user", "lead", "contact":
		return true
	case "":
		return allowUnset
	}
	return false // admin, bot, team, …
}

// intercomCreated: the conversation's first message, from the customer.
func intercomCreated(r *reader, ev *Event) error {
	var author, authorType, body string
	switch {
	case r.isObject("data.item.source"): // API v2
		author = "data.item.source.author"
		authorType = r.str(author + ".type")
		body = r.str("data.item.source.body")
	case r.isObject("data.item.conversation_message"): // legacy v1
		author = "data.item.user"
		authorType = r.str("data.item.conversation_message.author.type")
		body = r.str("data.item.conversation_message.body")
	default:
		return unmappable("intercom conversation.user.created has no source message")
	}
	if !intercomCustomer(authorType, true) {
		return unmappable("intercom conversation.user.created author is not a user, lead or contact")
	}
	ev.Direction = Inbound
	ev.setField("email", r.str(author+".email"))
	ev.setField("name", r.str(author+".name"))
	ev.Text = htmlToText(body)
	ev.At = firstTime(unixTime(r.str("data.item.created_at")), unixTime(r.str("created_at")))
	return nil
}

// intercomUserReplied: the last conversation part, from the customer.
func intercomUserReplied(r *reader, ev *Event) error {
	if r.length(intercomParts) == 0 {
		return unmappable("intercom conversation.user.replied has no conversation part")
	}
	last := intercomParts + ".-1"
	if !intercomCustomer(r.str(last+".author.type"), true) {
		return unmappable("intercom conversation.user.replied last part is not by a user, lead or contact")
	}
	ev.Direction = Inbound
	email, nm := r.str(last+".author.email"), r.str(last+".author.name")
	// Legacy v1 parts name the author by id only: the conversation's
	// user, when it is the same id, says who they are.
	if id := r.str(last + ".author.id"); email == "" && nm == "" && id != "" && id == r.str("data.item.user.id") {
		email, nm = r.str("data.item.user.email"), r.str("data.item.user.name")
	}
	ev.setField("email", email)
	ev.setField("name", nm)
	ev.Text = htmlToText(r.str(last + ".body"))
	ev.At = firstTime(unixTime(r.str(last+".created_at")), unixTime(r.str("created_at")))
	return nil
}

// intercomAdminReplied: the last part is the admin's reply to the
// customer (outbound). The customer is the conversation's person who has
// an email; the part's author, an admin, never is. Map refuses the event
// when no customer email is found.
func intercomAdminReplied(r *reader, ev *Event) error {
	if r.length(intercomParts) == 0 {
		return unmappable("intercom conversation.admin.replied has no conversation part")
	}
	last := intercomParts + ".-1"
	ev.Direction = Outbound
	ev.Text = htmlToText(r.str(last + ".body"))
	ev.At = firstTime(unixTime(r.str(last+".created_at")), unixTime(r.str("created_at")))
	candidates := []string{"data.item.user", "data.item.contacts.contacts.0", "data.item.contacts.0"}
	if intercomCustomer(r.str("data.item.source.author.type"), false) {
		candidates = append(candidates, "data.item.source.author")
	}
	for _, c := range candidates {
		if email := r.str(c + ".email"); email != "" {
			ev.setField("email", email)
			ev.setField("name", r.str(c+".name"))
			break
		}
	}
	return nil
}
