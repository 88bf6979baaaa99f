package customer

// IdentityKind names a kind of identifier that finds a customer through the
// blind index: a keyed hash of its match key points to the customer. Kinds
// are data: a channel that brings a new kind (a chat tool's user id) adds
// an entry to the identities table below and nothing else.
type IdentityKind string

const (
	IdentityEmail IdentityKind = "email"
	IdentityPhone IdentityKind = "phone"
	IdentitySlack IdentityKind = "slack" // a Slack user, "team:user"
	IdentityWeCom IdentityKind = "wecom" // a WeCom (企业微信) user, "corp:user"
)

// Identity describes one identity kind: the catalogue field it comes from
// and how a stored (normalised) value becomes the string that is hashed.
// Stored and match forms differ where matching is looser than storing:
// an email is stored as typed and matched case-folded.
type Identity struct {
	Kind  IdentityKind
	Field string
	Match func(normalised string) string
}

// identities are in match priority order: when the identifiers of one
// submission point to different customers, the first kind names the one
// the submission is compared with.
var identities = []Identity{
	{Kind: IdentityEmail, Field: "email", Match: EmailMatchKey},
	{Kind: IdentityPhone, Field: "phone", Match: same},
	{Kind: IdentitySlack, Field: "slack_user", Match: same},
	{Kind: IdentityWeCom, Field: "wecom_user", Match: same},
}

func same(s string) string { return s }

// Identities returns every identity kind, in match priority order.
func Identities() []Identity { return append([]Identity(nil), identities...) }

// IdentityOfField returns the identity kind a catalogue field carries.
func IdentityOfField(field string) (Identity, bool) {
	for _, id := range identities {
		if id.Field == field {
			return id, true
		}
	}
	return Identity{}, false
}

// IdentityOfKind returns the description of a kind.
func IdentityOfKind(kind IdentityKind) (Identity, bool) {
	for _, id := range identities {
		if id.Kind == kind {
			return id, true
		}
	}
	return Identity{}, false
}

// Priority orders kinds for matching: lower first; unknown kinds last.
func (k IdentityKind) Priority() int {
	for i, id := range identities {
		if id.Kind == k {
			return i
		}
	}
	return len(identities)
}

// Trust says how far a submission's identity is proven (DESIGN.md,
// "Identity and trust").
type Trust string

const (
	// Asserted: anyone could have sent it (a public form, the contact
	// details inside a chat webhook). It may add to a customer but never
	// takes anything away.
	Asserted Trust = "asserted"
	// Proven: a signed link names the customer (an update survey, a
	// privacy page): the customer themself.
	Proven Trust = "proven"
	// Trusted: an operator or the company's own system of record.
	Trusted Trust = "trusted"
)

// Valid reports whether t is a known trust level.
func (t Trust) Valid() bool { return t == Asserted || t == Proven || t == Trusted }

// MayReplace reports whether a value brought with trust t may replace a
// stored value that was brought with trust current. An asserted value
// never replaces one the customer confirmed or a trusted system set; the
// customer may correct what a system set, and an operator anything.
func (t Trust) MayReplace(current Trust) bool {
	return t != Asserted || current == Asserted || current == ""
}

// Age bands kept on a profile. A child's status stays with the customer:
// every later submission needs a guardian's consent and is stored in the
// restricted tier, whether or not it carries a birthday.
const (
	AgeBandChild = "under-14"
	ChildAge     = 14
)
