package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
)

// IndexRef names one blind-index entry: the identity kind and its keyed hash.
type IndexRef struct {
	Kind customer.IdentityKind
	Hash string
}

func (r IndexRef) pk() string { return "BIDX#" + string(r.Kind) + "#" + r.Hash }

// Key is how the identifier is named inside a profile's ids map.
func (r IndexRef) Key() string { return string(r.Kind) + ":" + r.Hash }

const indexSK = "BIDX"

type indexItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	Entity     string    `dynamodbav:"entity"`
	CustomerID string    `dynamodbav:"customer_id"`
	CreatedAt  time.Time `dynamodbav:"created_at,unixtime"`
}

// Lookup finds the customers the blind-index entries point to (strongly
// consistent, one BatchGetItem). Entries that do not exist are absent.
func (s *Store) Lookup(ctx context.Context, refs ...IndexRef) (map[IndexRef]string, error) {
	found := map[IndexRef]string{}
	if len(refs) == 0 {
		return found, nil
	}
	byPK := map[string]IndexRef{}
	var keys []map[string]types.AttributeValue
	for _, r := range refs {
		if _, dup := byPK[r.pk()]; dup {
			continue
		}
		byPK[r.pk()] = r
		keys = append(keys, key(r.pk(), indexSK))
	}
	err := s.batchGet(ctx, keys, "lookup blind index", func(raw map[string]types.AttributeValue) error {
		var it indexItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return err
		}
		found[byPK[it.PK]] = it.CustomerID
		return nil
	})
	return found, err
}

// batchGet reads keys (at most 100) strongly consistent, retrying
// unprocessed keys a bounded number of times.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, what string, each func(map[string]types.AttributeValue) error) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt == 5 {
			return fmt.Errorf("%s: %w", what, ErrUnavailable)
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return fmt.Errorf("%s: %w", what, classify(err))
		}
		for _, raw := range out.Responses[s.table] {
			if err := each(raw); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
		req = out.UnprocessedKeys
		if len(req) > 0 {
			select {
			case <-time.After(time.Duration(10<<attempt) * time.Millisecond):
			case <-ctx.Done():
				return fmt.Errorf("%s: %w", what, classify(ctx.Err()))
			}
		}
	}
	return nil
}

// Profile is one customer's profile item. It holds no personal value: the
// values live, encrypted, in the ledger entries of the submissions that
// brought them, and the profile points to the entry whose value is
// current for each field (Fields) and each identifier (IDs). So every
// value keeps its history at no extra write, a field is restored by moving
// its pointer, and the profile stays small. General-tier values are also
// kept here in plain form, for segments.
type Profile struct {
	PK          string     `dynamodbav:"pk"`
	SK          string     `dynamodbav:"sk"`
	Entity      string     `dynamodbav:"entity"`
	CustomerID  string     `dynamodbav:"-"` // from pk: not stored twice
	Version     int64      `dynamodbav:"version"`
	CreatedAt   time.Time  `dynamodbav:"created_at,unixtime"`
	UpdatedAt   time.Time  `dynamodbav:"updated_at,unixtime"`
	ReviewDueAt time.Time  `dynamodbav:"review_due_at,unixtime"` // when to ask the customer to confirm their details
	ConfirmedAt *time.Time `dynamodbav:"confirmed_at,unixtime,omitempty"`
	// ActiveAt is the customer's last activity (a submission, an answer,
	// an inbound message, an order they placed; not a message the company
	// sent, a refund, a withdrawal or an operator's act): retention counts
	// from it. Absent on a profile a company message made: retention then
	// counts from CreatedAt.
	ActiveAt *time.Time                        `dynamodbav:"active_at,unixtime,omitempty"`
	General  map[string]string                 `dynamodbav:"general"`
	Fields   map[string]FieldRef               `dynamodbav:"src"`
	IDs      map[string]Identifier             `dynamodbav:"ids"`
	Consent  map[consent.Purpose]consent.State `dynamodbav:"consent"`
	AgeBand  string                            `dynamodbav:"age_band,omitempty"`
	// Restricted: processing is restricted (PIPL Art. 44, GDPR Art. 18):
	// the profile is kept but gets no email.
	Restricted bool `dynamodbav:"restricted,omitempty"`

	// Trade aggregates (general tier), from order events: exact decimals.
	TradeCount   int64              `dynamodbav:"trade_count,omitempty"`
	TradeTotal   Decimal            `dynamodbav:"trade_total,omitempty"`
	TradeMonths  map[string]Decimal `dynamodbav:"trade_months,omitempty"` // "2006-01" → that month's net total
	FirstTradeAt *time.Time         `dynamodbav:"first_trade_at,unixtime,omitempty"`
	LastTradeAt  *time.Time         `dynamodbav:"last_trade_at,unixtime,omitempty"`

	// Matched counts, by channel, the submissions the blind index matched
	// to this customer rather than making a new one: each is a duplicate
	// customer prevented (the quality report's figure, kept exact by the
	// segmenter from this map).
	Matched map[string]int64 `dynamodbav:"matched,omitempty"`
}

// FieldRef points to the ledger entry whose value of a field is current.
type FieldRef struct {
	Submission  string         `dynamodbav:"s"`
	Trust       customer.Trust `dynamodbav:"t"`
	Fingerprint string         `dynamodbav:"h"`           // keyed hash of the value, to compare without decrypting
	ConfirmedAt int64          `dynamodbav:"c,omitempty"` // unix time a later submission last repeated the value
}

// Identifier is one email address, phone number or other identifier of a
// customer. Its value is in the ledger entry Submission; the blind index
// entry of its hash points to this customer when Indexed.
type Identifier struct {
	Submission string         `dynamodbav:"s"`
	Trust      customer.Trust `dynamodbav:"t"`
	At         int64          `dynamodbav:"at"`
	// Indexed: the blind index points here. Not indexed: another customer
	// holds it; kept for the record and for review, never matched.
	Indexed bool `dynamodbav:"ix,omitempty"`
	// Verified: a trusted system set it, or a click on a link sent to it
	// confirmed it. Only verified addresses receive links that act for
	// the customer.
	Verified bool `dynamodbav:"v,omitempty"`
	// Confirmable: a confirmation link may be sent to it. True for the
	// identifiers that created the customer and those the customer added
	// through a proven link; never for one an anonymous post added to an
	// existing customer.
	Confirmable bool `dynamodbav:"cf,omitempty"`
}

// IdentifierRef returns an identifier's blind-index reference from its key
// in IDs ("kind:hash", IndexRef.Key).
func IdentifierRef(k string) (IndexRef, bool) {
	kind, hash, ok := strings.Cut(k, ":")
	return IndexRef{Kind: customer.IdentityKind(kind), Hash: hash}, ok
}

// Child reports whether the profile carries a child's age band.
func (p *Profile) Child() bool { return p.AgeBand == customer.AgeBandChild }

// IdentifiersOf returns the profile's identifiers of one kind, sorted by key.
func (p *Profile) IdentifiersOf(kind customer.IdentityKind) []string {
	var out []string
	for k := range p.IDs {
		if r, ok := IdentifierRef(k); ok && r.Kind == kind {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func profilePK(id string) string { return "CUST#" + id }

const profileSK = "PROFILE"

// ProfileHead returns what a writer needs of a profile: its version, the
// pointers and fingerprints of its fields, its identifiers, age band and
// consent state. None of it is personal data.
func (s *Store) ProfileHead(ctx context.Context, id string) (*Profile, error) {
	var p Profile
	if err := s.get(ctx, profilePK(id), profileSK, &p, "version", "src", "ids", "age_band", "consent", "trade_count", "trade_months", "first_trade_at", "last_trade_at", "matched", "restricted"); err != nil {
		return nil, err
	}
	p.CustomerID = id
	return &p, nil
}

// Profile returns the whole profile item.
func (s *Store) Profile(ctx context.Context, id string) (*Profile, error) {
	var p Profile
	if err := s.get(ctx, profilePK(id), profileSK, &p); err != nil {
		return nil, err
	}
	p.CustomerID = id
	return &p, nil
}
