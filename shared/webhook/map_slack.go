package webhook

import (
	"strconv"
	"strings"
	"time"
)

// Slack Events API: url_verification (answered with its challenge),
// app_rate_limited, and event_callback wrapping an event. Only people's
// messages are taken; they name the person by the workspace's user id
// (Event.UserID "T…:U…", looked up with Directory.Slack), never by email.

// slackQuiet are event types that carry nothing kehu wants: acknowledged.
var slackQuiet = map[string]bool{
	"user_typing": true, "reaction_added": true, "reaction_removed": true,
	"im_open": true, "im_close": true, "channel_created": true, "app_home_opened": true,
}

// slackPersonSubtypes are message subtypes that are still a person's own
// new message: a file shared with a message, a thread reply also sent to
// the channel, a /me message. Every other subtype (bot_message,
// message_changed, message_deleted, channel_join, …) is ignored.
var slackPersonSubtypes = map[string]bool{"file_share": true, "thread_broadcast": true, "me_message": true}

func mapSlack(r *reader) (Event, error) {
	switch typ := r.str("type"); typ {
	case "url_verification":
		c := r.str("challenge")
		if c == "" {
			return Event{}, unmappable("slack url_verification has no challenge")
		}
		return Event{Type: typ, Challenge: c}, nil
	case "app_rate_limited":
		return Event{Type: typ, Ignore: true}, nil
	case "event_callback":
	default:
		return Event{}, unmappable("slack payload type " + name(typ) + " is not taken")
	}
	if !r.isObject("event") {
		return Event{}, unmappable("slack event_callback has no event")
	}
	id := r.str("event_id")
	et := r.str("event.type")
	switch {
	case et == "message" || et == "app_mention":
	case slackQuiet[et]:
		return Event{ID: id, Type: et, Ignore: true}, nil
	default:
		return Event{}, unmappable("slack event type " + name(et) + " is not taken")
	}
	if st := r.str("event.subtype"); (st != "" && !slackPersonSubtypes[st]) || r.str("event.bot_id") != "" {
		// Bots (kehu's own replies among them), edits, deletions and
		// system messages: never a person's new message; avoids loops.
		return Event{ID: id, Type: et, Ignore: true}, nil
	}
	user, team := r.str("event.user"), r.str("team_id")
	if user == "" {
		return Event{}, unmappable("slack event has no user")
	}
	if team == "" {
		return Event{}, unmappable("slack event has no team_id")
	}
	ev := Event{
		ID:           id,
		Type:         et,
		UserID:       team + ":" + user,
		Direction:    Inbound,
		Conversation: r.str("event.channel"),
		Text:         r.str("event.text"),
		At:           firstTime(slackTime(r.str("event.ts")), slackTime(r.str("event.event_ts")), unixTime(r.str("event_time"))),
	}
	if thread := r.str("event.thread_ts"); thread != "" && ev.Conversation != "" {
		ev.Conversation += ":" + thread
	}
	// Files are referenced by id, never fetched.
	for i := range r.length("event.files") {
		if f := r.str("event.files." + strconv.Itoa(i) + ".id"); f != "" {
			ev.Attachments = append(ev.Attachments, f)
		}
	}
	if r.err != nil {
		return Event{}, r.err
	}
	return ev, nil
}

// slackTime reads a Slack ts ("1355517523.000005": unix seconds and a
// fraction); zero when s is not one.
func slackTime(s string) time.Time {
	sec, frac, _ := strings.Cut(s, ".")
	t := unixTime(sec)
	if t.IsZero() || len(frac) > 9 {
		return t
	}
	var ns int64
	for i := 0; i < 9; i++ {
		ns *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return t
			}
			ns += int64(c - '0')
		}
	}
	return t.Add(time.Duration(ns))
}
