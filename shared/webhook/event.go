package webhook

import (
	"time"
)

// Event is what an authentic payload says, ready for the intake pipeline.
type Event struct {
	// ID is the provider's id of this event (Intercom notification id,
	// Slack event_id, WeCom MsgId, …); "" when the payload has none (the
	// caller then uses the verifier's delivery id or a hash of the payload).
	ID string
	// Type is the provider's event type or topic, always a plain name
	// (a fixed word or token()): safe for metrics and reasons.
	Type string
	// Challenge is set for a URL verification to answer (Slack
	// url_verification): nothing else is set then.
	Challenge string
	// Ignore marks an event kehu has no use for and that carries no
	// personal data (a ping, a rate-limit notice, a non-message WeCom
	// event, a typing indicator, a read receipt, a bot's own message): it
	// is acknowledged and counted, never stored.
	Ignore bool
	// Fields are catalogue fields (email, phone, name, and any a source's
	// map names) with their raw values, to be validated by the pipeline.
	Fields map[string]string
	// UserID is the tool's own id of the person, scoped so that it is
	// unique across workspaces: Slack "T123:U456", WeCom "corpid:userid".
	// "" when the payload names the person by email or phone only.
	UserID string
	// The interaction: conversation id, direction ("inbound" from the
	// person, "outbound" to them), when, the text, attachment references
	// (never fetched).
	Conversation string
	Direction    string
	At           time.Time
	Text         string
	Attachments  []string
}

// Directions of an interaction.
const (
	Inbound  = "inbound"
	Outbound = "outbound"
)

// UnmappableError says why an authentic payload cannot be used (an event
// type kehu does not take, a changed schema): it is acknowledged and kept
// in quarantine with this reason, which never quotes the payload.
type UnmappableError struct {
	Reason string
}

func (e *UnmappableError) Error() string { return "unmappable payload: " + e.Reason }

func unmappable(reason string) error { return &UnmappableError{Reason: reason} }
