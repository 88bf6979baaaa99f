package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
)

// LedgerPrefix starts the sort key of every ledger entry.
const LedgerPrefix = "LEDGER#"

// Ledger entry kinds (the entity attribute).
const (
	EntitySubmission = "submission" // a submission: a consent grant and the values it brought
	EntityRestore    = "restore"    // an operator moved a field back to an earlier submission's value
)

// LedgerEntry is one append-only record of a customer's ledger. A
// submission is a grant event: it says under which basis and consent, from
// which form or source, with which trust, what came — and keeps the values
// themselves, sealed (Sealed) or, for the general tier, plain (Plain). That
// is each value's history: a later submission never overwrites an entry.
type LedgerEntry struct {
	PK           string `dynamodbav:"pk" json:"-"`
	SK           string `dynamodbav:"sk" json:"-"`
	Entity       string `dynamodbav:"entity" json:"kind"`
	CustomerID   string `dynamodbav:"-" json:"-"`             // from pk
	SubmissionID string `dynamodbav:"-" json:"submission_id"` // from sk

	Action   consent.Action    `dynamodbav:"action,omitempty" json:"action,omitempty"`
	Basis    consent.Basis     `dynamodbav:"basis,omitempty" json:"basis,omitempty"`
	Trust    customer.Trust    `dynamodbav:"trust,omitempty" json:"trust,omitempty"`
	Purposes []consent.Purpose `dynamodbav:"purposes,omitempty" json:"purposes,omitempty"`
	Notice   string            `dynamodbav:"notice,omitempty" json:"notice,omitempty"`
	Channel  string            `dynamodbav:"channel" json:"channel"`
	FormID   string            `dynamodbav:"form_id,omitempty" json:"form,omitempty"`
	At       time.Time         `dynamodbav:"at,unixtime" json:"at"`
	Proof    string            `dynamodbav:"proof,omitempty" json:"-"` // keyed hash of client address and agent

	Sealed map[string][]byte `dynamodbav:"values,omitempty" json:"-"` // field → envelope blob; data keys in DKEY items
	Plain  map[string]string `dynamodbav:"plain,omitempty" json:"-"`  // general-tier field → value

	NewCustomer    bool     `dynamodbav:"new_customer,omitempty" json:"new_customer,omitempty"`
	IdentityReview []string `dynamodbav:"identity_review,omitempty" json:"identity_review,omitempty"` // other customers its identifiers point to
	Held           []string `dynamodbav:"held,omitempty" json:"held,omitempty"`                       // fields not applied: they disagree with confirmed values
	// Withdrawn: purposes this submission withdrew (an update survey's
	// unticked consent), beside those it granted.
	Withdrawn []consent.Purpose `dynamodbav:"withdrawn,omitempty" json:"withdrawn,omitempty"`
	// Confirmed: fields the customer confirmed as they are on file.
	Confirmed []string `dynamodbav:"confirmed,omitempty" json:"confirmed,omitempty"`
	// Verified: the identifier a click on a link confirmed (its key).
	Verified string `dynamodbav:"verified,omitempty" json:"verified,omitempty"`
	// Restricted: stored while the customer's processing was restricted
	// (kept, flagged for a person, used for nothing else).
	Restricted bool `dynamodbav:"restricted,omitempty" json:"restricted,omitempty"`
	// Erased: what stays of the entry after its customer's erasure
	// (StripEntry), under a key of its own.
	Erased bool `dynamodbav:"erased,omitempty" json:"-"`

	// Interaction, for a message from a chat tool: its text is sealed (AAD
	// ValueAttribute(submission, InteractionText)).
	Interaction *Interaction `dynamodbav:"interaction,omitempty" json:"interaction,omitempty"`
	// Order, for an order event: no personal data.
	Order *LedgerOrder `dynamodbav:"order,omitempty" json:"order,omitempty"`

	// Restore entries: which field was moved back to which submission's value, by whom.
	RestoredField string `dynamodbav:"restored_field,omitempty" json:"restored_field,omitempty"`
	RestoredFrom  string `dynamodbav:"restored_from,omitempty" json:"restored_from,omitempty"`
	Actor         string `dynamodbav:"actor,omitempty" json:"actor,omitempty"`
}

// Fields returns the names of the fields the entry carries, sorted.
func (e *LedgerEntry) Fields() []string {
	out := make([]string, 0, len(e.Sealed)+len(e.Plain))
	for f := range e.Sealed {
		out = append(out, f)
	}
	for f := range e.Plain {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// Has reports whether the entry carries a value of field.
func (e *LedgerEntry) Has(field string) bool {
	_, sealed := e.Sealed[field]
	_, plain := e.Plain[field]
	return sealed || plain
}

// Interaction is one message between a person and the company through a
// chat or help-desk tool.
type Interaction struct {
	Source       string    `dynamodbav:"source" json:"source"`
	Provider     string    `dynamodbav:"provider" json:"provider"`
	Conversation string    `dynamodbav:"conversation,omitempty" json:"conversation,omitempty"` // blindindex.Conversation: a label, never the tool's id
	Direction    string    `dynamodbav:"direction" json:"direction"`
	At           time.Time `dynamodbav:"at,unixtime" json:"at"`
	Attachments  []string  `dynamodbav:"attachments,omitempty" json:"attachments,omitempty"` // references, never fetched
	Text         []byte    `dynamodbav:"text,omitempty" json:"-"`                            // sealed
}

// LedgerOrder is an order event on a customer's ledger.
type LedgerOrder struct {
	Ref      string    `dynamodbav:"ref" json:"ref"` // the order record's key (a keyed hash of the order id)
	Refund   bool      `dynamodbav:"refund,omitempty" json:"refund,omitempty"`
	Amount   string    `dynamodbav:"amount" json:"amount"`
	Currency string    `dynamodbav:"currency" json:"currency"`
	At       time.Time `dynamodbav:"at,unixtime" json:"at"`
}

// InteractionText names an interaction's text in its associated data.
const InteractionText = "interaction.text"

// ValueAttribute names a sealed value of a ledger entry in its associated
// data: bound to the submission and the field, so a value moved to another
// entry or field does not open.
func ValueAttribute(submissionID, field string) string {
	return "ledger/" + submissionID + "/" + field
}

func ledgerSK(submissionID string) string { return LedgerPrefix + submissionID }

func (e *LedgerEntry) fill() {
	e.CustomerID = strings.TrimPrefix(e.PK, "CUST#")
	e.SubmissionID = strings.TrimPrefix(e.SK, LedgerPrefix)
}

// Ledger returns a customer's ledger, oldest first.
func (s *Store) Ledger(ctx context.Context, id string) ([]LedgerEntry, error) {
	entries, err := queryAll[LedgerEntry](ctx, s, expression.Key(PK).Equal(expression.Value(profilePK(id))).
		And(expression.Key(SK).BeginsWith(LedgerPrefix)), "ledger of "+id)
	if err != nil {
		return nil, err
	}
	for i := range entries {
		entries[i].fill()
	}
	slices.SortStableFunc(entries, func(a, b LedgerEntry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.SK, b.SK)
	})
	return entries, nil
}

// Entry returns one ledger entry.
func (s *Store) Entry(ctx context.Context, customerID, submissionID string) (*LedgerEntry, error) {
	var e LedgerEntry
	if err := s.get(ctx, profilePK(customerID), ledgerSK(submissionID), &e); err != nil {
		return nil, err
	}
	e.fill()
	return &e, nil
}

// Review is an open question for a person: a submission whose identifiers
// disagree with the customer they would match, or whose values disagree
// with values the customer confirmed. The decision was not made silently:
// the submission's values are in its ledger entry, and nothing of the
// other customer changed. Reviews share one partition: they are rare, and
// one Query lists them all.
type Review struct {
	PK           string   `dynamodbav:"pk" json:"-"`
	SK           string   `dynamodbav:"sk" json:"-"`
	Entity       string   `dynamodbav:"entity" json:"-"`
	Kind         string   `dynamodbav:"kind" json:"kind"` // ReviewIdentity or ReviewValues
	SubmissionID string   `dynamodbav:"submission_id" json:"submission_id"`
	CustomerID   string   `dynamodbav:"customer_id" json:"customer_id"`                       // the customer the submission was written to
	AlsoMatched  []string `dynamodbav:"also_matched,omitempty" json:"also_matched,omitempty"` // customers its identifiers point to
	// MatchedKeys: for each of those customers, the keys of its
	// identifiers the submission carried (so an erasure of that customer
	// finds its values in the submission without decrypting anything).
	MatchedKeys map[string][]string `dynamodbav:"matched_keys,omitempty" json:"-"`
	Fields      []string            `dynamodbav:"fields,omitempty" json:"fields,omitempty"` // fields held back
	At          time.Time           `dynamodbav:"at,unixtime" json:"at"`
}

// Review kinds.
const (
	ReviewIdentity = "identity"
	ReviewValues   = "values"
)

const reviewPK = "REVIEW"

// Reviews lists the open reviews, oldest first.
func (s *Store) Reviews(ctx context.Context) ([]Review, error) {
	return queryAll[Review](ctx, s, expression.Key(PK).Equal(expression.Value(reviewPK)), "reviews")
}

// ReviewKinds counts the review queue by kind, reading the kind alone (the
// analysts' role may read no more of it).
func (s *Store) ReviewKinds(ctx context.Context) (map[string]int64, error) {
	rows, err := queryAll[struct {
		Kind string `dynamodbav:"kind"`
	}](ctx, s, expression.Key(PK).Equal(expression.Value(reviewPK)), "reviews", "kind")
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Kind]++
	}
	return out, err
}

// DataKey is a wrapped data key, stored once for every value sealed under
// it: a data key serves many values for a few minutes, and keeping its
// 150–200 bytes beside each value would make every item pay for it.
type DataKey struct {
	Ref       string        `dynamodbav:"-"` // envelope.Ref of Wrapped
	PK        string        `dynamodbav:"pk"`
	SK        string        `dynamodbav:"sk"`
	Entity    string        `dynamodbav:"entity"`
	Tier      customer.Tier `dynamodbav:"tier"`
	Wrapped   []byte        `dynamodbav:"wrapped"`
	CreatedAt time.Time     `dynamodbav:"created_at,unixtime"`
}

func dataKeyPK(ref string) string { return "DKEY#" + ref }

const dataKeySK = "DKEY"

// DataKeys returns the wrapped data keys of refs, keyed by ref.
func (s *Store) DataKeys(ctx context.Context, refs []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	slices.Sort(refs)
	refs = slices.Compact(refs)
	for len(refs) > 0 {
		n := min(len(refs), 100)
		var keys []map[string]types.AttributeValue
		for _, r := range refs[:n] {
			keys = append(keys, key(dataKeyPK(r), dataKeySK))
		}
		err := s.batchGet(ctx, keys, "read data keys", func(raw map[string]types.AttributeValue) error {
			var k DataKey
			if err := attributevalue.UnmarshalMap(raw, &k); err != nil {
				return err
			}
			out[strings.TrimPrefix(k.PK, "DKEY#")] = k.Wrapped
			return nil
		})
		if err != nil {
			return nil, err
		}
		refs = refs[n:]
	}
	return out, nil
}
