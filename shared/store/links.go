package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
)

// Ledger entry kinds of the update-survey loop.
const (
	EntityWithdrawal    = "withdrawal"     // purposes withdrawn (a link, a one-click POST, an operator)
	EntityVerification  = "verification"   // an address confirmed by a click on a link sent to it
	EntityReviewRequest = "review-request" // an operator asked the customer to confirm their details
)

// ErrLinkUsed means a single-use link was used before: nothing was written.
var ErrLinkUsed = errors.New("link used before")

// LinkUse marks a single-use link token used, in the transaction of what
// the link does. The mark lives in the customer's partition (so erasure
// takes it) until the token expires.
type LinkUse struct {
	CustomerID string
	ID         string // the token's random id
	Expires    time.Time
}

// Sort-key prefixes of a customer's link-use marks and send records.
const (
	linkSKPrefix = "LINK#"
	sendSKPrefix = "SEND#"
)

func linkSK(id string) string { return linkSKPrefix + id }

// UseLink marks a single-use link used on its own (a read it allows,
// with nothing else to write): ErrLinkUsed if it was.
func (s *Store) UseLink(ctx context.Context, u LinkUse, now time.Time) error {
	err := s.putIfAbsent(ctx, linkUseItem(u, now))
	if errors.Is(err, ErrConflict) {
		return ErrLinkUsed
	}
	return err
}

func (s *Store) linkUsePut(u LinkUse, now time.Time) (types.TransactWriteItem, error) {
	return putNew(s.table, linkUseItem(u, now))
}

func linkUseItem(u LinkUse, now time.Time) map[string]any {
	return map[string]any{PK: profilePK(u.CustomerID), SK: linkSK(u.ID), "entity": "link-use", "at": now.Unix(), TTL: u.Expires.Unix()}
}

// LinkUsed reports whether a single-use token was used.
func (s *Store) LinkUsed(ctx context.Context, customerID, id string) (bool, error) {
	var it struct {
		PK string `dynamodbav:"pk"`
	}
	err := s.get(ctx, profilePK(customerID), linkSK(id), &it, PK)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Withdrawal withdraws purposes: the profile's consent states and a ledger
// entry, in one transaction.
type Withdrawal struct {
	CustomerID string
	EntryID    string
	Purposes   []consent.Purpose
	Channel    string // "email-link", "one-click", "operator", "survey"
	Trust      customer.Trust
	Actor      string // an operator's name, for operator withdrawals
	Proof      string
	At         time.Time
}

// Withdraw records a withdrawal. ErrNotFound: no such customer.
func (s *Store) Withdraw(ctx context.Context, w Withdrawal) error {
	up := expression.Set(expression.Name("updated_at"), expression.Value(w.At.Unix())).Add(expression.Name("version"), expression.Value(1))
	for _, p := range w.Purposes {
		av, err := marshal(consent.State{Granted: false, At: w.At.UTC(), Trust: string(w.Trust)})
		if err != nil {
			return err
		}
		up = up.Set(expression.Name("consent."+string(p)), expression.Value(av))
	}
	profile, err := s.profileUpdate(w.CustomerID, up, expression.AttributeExists(expression.Name(PK)))
	if err != nil {
		return err
	}
	entry, err := putNew(s.table, LedgerEntry{PK: profilePK(w.CustomerID), SK: ledgerSK(w.EntryID), Entity: EntityWithdrawal,
		Action: consent.Withdrawn, Purposes: w.Purposes, Trust: w.Trust, Channel: w.Channel, Actor: w.Actor, Proof: w.Proof, At: w.At.UTC()})
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{profile, entry}, w.EntryID, "withdraw consent of "+w.CustomerID)
	if slices.Contains(cancelled(err), 0) {
		return fmt.Errorf("withdraw consent of %s: %w", w.CustomerID, ErrNotFound)
	}
	return err
}

func (s *Store) profileUpdate(customerID string, up expression.UpdateBuilder, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	return s.update(key(profilePK(customerID), profileSK), up, cond)
}

// Verification marks an identifier verified: a click on a link sent to it.
type Verification struct {
	CustomerID string
	IDKey      string // the identifier's key in the profile (IndexRef.Key)
	// Claim: the identifier holds no index entry yet (the person added it
	// through their link): verifying it claims the entry, if nobody has.
	Claim   bool
	EntryID string
	Proof   string
	At      time.Time
	Link    LinkUse
}

// ErrNotVerifiable means the identifier is no longer this customer's own
// (not held, or no longer indexed to it) or not one a confirmation may be
// sent to: nothing was written.
var ErrNotVerifiable = errors.New("identifier cannot be verified for this customer")

// Verify records a verification in one transaction with the link's use.
func (s *Store) Verify(ctx context.Context, v Verification) error {
	path := "ids." + v.IDKey
	up := expression.Set(expression.Name(path+".v"), expression.Value(true)).
		Set(expression.Name("updated_at"), expression.Value(v.At.Unix())).Add(expression.Name("version"), expression.Value(1))
	cond := expression.Name(path + ".ix").Equal(expression.Value(true))
	if v.Claim {
		up = up.Set(expression.Name(path+".ix"), expression.Value(true))
		cond = expression.AttributeExists(expression.Name(path)).And(expression.AttributeNotExists(expression.Name(path + ".ix")))
	}
	// Only an address a confirmation may be sent to (the customer's own
	// first one, or one the person added through their link): a link sent
	// under older rules to another does not verify it.
	cond = cond.And(expression.Name(path + ".cf").Equal(expression.Value(true)))
	profile, err := s.profileUpdate(v.CustomerID, up, cond)
	if err != nil {
		return err
	}
	use, err := s.linkUsePut(v.Link, v.At)
	if err != nil {
		return err
	}
	entry, err := putNew(s.table, LedgerEntry{PK: profilePK(v.CustomerID), SK: ledgerSK(v.EntryID), Entity: EntityVerification,
		Trust: customer.Proven, Channel: "email-link", Proof: v.Proof, At: v.At.UTC(), Verified: v.IDKey})
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{profile, use, entry}
	if v.Claim {
		ref, ok := IdentifierRef(v.IDKey)
		if !ok {
			return ErrNotVerifiable
		}
		put, err := s.indexPut(ref, v.CustomerID, nil, v.At)
		if err != nil {
			return err
		}
		items = append(items, put)
	}
	err = s.transact(ctx, items, v.EntryID, "verify an identifier of "+v.CustomerID)
	failed := cancelled(err)
	switch {
	case slices.Contains(failed, 1):
		return ErrLinkUsed
	case slices.Contains(failed, 0), slices.Contains(failed, 3): // not this customer's, or another now holds its index entry
		return ErrNotVerifiable
	}
	return err
}

// Send kinds.
const (
	SendSurvey  = "survey"  // the period's update survey
	SendConfirm = "confirm" // the one confirmation email of a new address
)

// Send outcomes.
const (
	SendSending = "sending" // recorded before the mail left; a crash leaves it so (at most once)
	SendSent    = "sent"
	SendFailed  = "failed" // refused by the mail service: retried on a later run
	// SendUncertain: the mail service could not say whether it sent (a
	// timeout after the message may have left): like sent, not retried
	// before the interval.
	SendUncertain = "uncertain"
)

// keepSend is how long a send record lives (TTL): longer than any
// interval, so it is never gone while it matters, and a record recreated
// by a send racing an erasure does not stay.
const keepSend = 400 * 24 * time.Hour

// SendRecord is the last email of a kind sent to a customer.
type SendRecord struct {
	PK          string     `dynamodbav:"pk"`
	SK          string     `dynamodbav:"sk"`
	Entity      string     `dynamodbav:"entity"`
	Kind        string     `dynamodbav:"kind"`
	Survey      string     `dynamodbav:"survey,omitempty"`
	Outcome     string     `dynamodbav:"outcome,omitempty"`
	SentAt      *time.Time `dynamodbav:"sent_at,unixtime,omitempty"`
	RequestedAt *time.Time `dynamodbav:"requested_at,unixtime,omitempty"` // an operator's request not yet answered by a send
	Tries       int        `dynamodbav:"tries,omitempty"`                 // emails of this kind so far
	Subject     string     `dynamodbav:"subject,omitempty"`               // confirm: the identifier's submission
}

func sendSK(kind, subject string) string {
	if subject == "" {
		return sendSKPrefix + kind
	}
	return sendSKPrefix + kind + "#" + subject
}

// ErrNotDue means a send was not claimed: sent within the interval, or
// being sent by another run.
var ErrNotDue = errors.New("not due for this email")

// ClaimSend records, before the mail leaves, that an email of kind is being
// sent to a customer: only if none was sent within interval (0: none
// ever), the last one failed, or an operator asked for one (the request is
// then answered, and removed, by this send); and, when maxTries > 0, fewer
// than maxTries were sent. A concurrent or repeated run gets ErrNotDue and
// skips the customer.
func (s *Store) ClaimSend(ctx context.Context, customerID, kind, subject, survey string, interval time.Duration, maxTries int, now time.Time) error {
	again := expression.Name("outcome").Equal(expression.Value(SendFailed))
	if interval > 0 {
		again = again.Or(expression.Name("sent_at").LessThanEqual(expression.Value(now.Add(-interval).Unix()))).
			Or(expression.AttributeExists(expression.Name("requested_at")))
	}
	if maxTries > 0 {
		again = again.And(expression.AttributeNotExists(expression.Name("tries")).Or(expression.Name("tries").LessThan(expression.Value(maxTries))))
	}
	cond := expression.AttributeNotExists(expression.Name(PK)).Or(again)
	// The send answers an operator's pending request (exactly once).
	up := expression.Remove(expression.Name("requested_at")).
		Set(expression.Name("outcome"), expression.Value(SendSending)).
		Add(expression.Name("tries"), expression.Value(1)).
		Set(expression.Name(TTL), expression.Value(now.Add(keepSend).Unix())).
		Set(expression.Name("sent_at"), expression.Value(now.Unix())).
		Set(expression.Name("kind"), expression.Value(kind)).
		Set(expression.Name("entity"), expression.Value("send"))
	if survey != "" {
		up = up.Set(expression.Name("survey"), expression.Value(survey))
	}
	if subject != "" {
		up = up.Set(expression.Name("subject"), expression.Value(subject))
	}
	err := s.updateIf(ctx, key(profilePK(customerID), sendSK(kind, subject)), up, cond)
	if errors.Is(err, ErrConflict) {
		return ErrNotDue
	}
	if err != nil {
		return fmt.Errorf("claim a send to %s: %w", customerID, err)
	}
	return nil
}

// updateIf is one conditional UpdateItem, bounded; ErrConflict when the
// condition fails.
func (s *Store) updateIf(ctx context.Context, k map[string]types.AttributeValue, up expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	expr, err := expression.NewBuilder().WithUpdate(up).WithCondition(cond).Build()
	if err != nil {
		return err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: k, UpdateExpression: expr.Update(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	return classify(err)
}

// FinishSend records a claimed send's outcome (SendSent or SendFailed).
func (s *Store) FinishSend(ctx context.Context, customerID, kind, subject, outcome string) error {
	if err := s.updateIf(ctx, key(profilePK(customerID), sendSK(kind, subject)), expression.Set(expression.Name("outcome"), expression.Value(outcome)),
		expression.Name("outcome").Equal(expression.Value(SendSending))); err != nil {
		return fmt.Errorf("record a send to %s: %w", customerID, err)
	}
	return nil
}

// Send returns the send record of a kind, or ErrNotFound.
func (s *Store) Send(ctx context.Context, customerID, kind, subject string) (*SendRecord, error) {
	var r SendRecord
	if err := s.get(ctx, profilePK(customerID), sendSK(kind, subject), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RequestReview makes a customer due for the update survey now, the
// interval notwithstanding: the profile's review date (so the segmenter
// puts it in review-due), the send record's request time, and a ledger
// entry naming the operator, in one transaction.
func (s *Store) RequestReview(ctx context.Context, customerID, actor, entryID string, now time.Time) error {
	profile, err := s.profileUpdate(customerID, expression.Set(expression.Name("review_due_at"), expression.Value(now.Unix())).
		Set(expression.Name("updated_at"), expression.Value(now.Unix())).Add(expression.Name("version"), expression.Value(1)),
		expression.AttributeExists(expression.Name(PK)))
	if err != nil {
		return err
	}
	e, err := expression.NewBuilder().WithUpdate(expression.Set(expression.Name("requested_at"), expression.Value(now.Unix())).
		Set(expression.Name("kind"), expression.Value(SendSurvey)).Set(expression.Name("entity"), expression.Value("send"))).Build()
	if err != nil {
		return err
	}
	send := types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: key(profilePK(customerID), sendSK(SendSurvey, "")),
		UpdateExpression: e.Update(), ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}}
	entry, err := putNew(s.table, LedgerEntry{PK: profilePK(customerID), SK: ledgerSK(entryID), Entity: EntityReviewRequest,
		Channel: "operator", Trust: customer.Trusted, Actor: actor, At: now.UTC()})
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{profile, send, entry}, entryID, "request a review of "+customerID)
	if slices.Contains(cancelled(err), 0) {
		return fmt.Errorf("request a review of %s: %w", customerID, ErrNotFound)
	}
	return err
}

// EachMember calls fn with every member of a segment, shard by shard, a
// page at a time (projected: keys only), until fn returns false.
func (s *Store) EachMember(ctx context.Context, name string, fn func(customerID string) bool) error {
	for shard := range segmentShards {
		var start map[string]types.AttributeValue
		for {
			qctx, cancel := s.bound(ctx)
			out, err := s.db.Query(qctx, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: aws.String("pk = :pk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: memberPK(name, shard)}},
				ProjectionExpression:      aws.String("sk"), ExclusiveStartKey: start, Limit: aws.Int32(100)})
			cancel()
			if err != nil {
				return fmt.Errorf("members of a segment: %w", classify(err))
			}
			for _, it := range out.Items {
				if sk, ok := it[SK].(*types.AttributeValueMemberS); ok && !fn(sk.Value) {
					return nil
				}
			}
			if start = out.LastEvaluatedKey; len(start) == 0 {
				break
			}
		}
	}
	return nil
}
