package intake_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/store"
)

// viaProxy is the intake pipeline with its DynamoDB calls going through a
// fault-injecting proxy, with short deadlines.
func viaProxy(t *testing.T, st *stacktest.Stack) (*intake.Service, *stacktest.Proxy) {
	t.Helper()
	svc, _ := st.Intake(t)
	p := st.Proxy(t)
	s := p.Store(t, st, "kehu-intake")
	s.CallTimeout = 2 * time.Second
	svc.Store, svc.Budget = s, 5*time.Second
	return svc, p
}

// A stalled database is answered 503 within the function's deadline, not
// after the stall, and nothing is stored.
func TestStalledDatabaseAnswers503InTime(t *testing.T) {
	st := stacktest.New(t)
	svc, proxy := viaProxy(t, st)
	def := mustForm(t, svc) // read before the stall
	base := st.Count(t)
	proxy.Add(&stacktest.Fault{Stall: 35 * time.Second})
	start := time.Now()
	sub := contactSub("Stalled", stacktest.Unique("stall")+"@example.com", "")
	sub.IdempotencyKey, sub.IdempotencyKeySent = stacktest.Unique("k"), true
	_, err := svc.Submit(context.Background(), def, sub)
	took := time.Since(start)
	if p := httpapi.FromError(err); p.Status != 503 {
		t.Fatalf("stalled database: %v → %d, want 503", err, p.Status)
	}
	if took > 15*time.Second {
		t.Fatalf("answered after %v: the stall was not bounded", took)
	}
	proxy.Clear()
	if got := st.Count(t); !equalCounts(base, got) {
		t.Fatalf("stored: %v → %v", base, got)
	}
}

// The idempotency record's put is applied but its answer lost: the SDK's
// retry finds the request's own record and goes on, instead of answering
// "in flight" for the whole lease.
func TestLostAnswerOfOwnIdempotencyRecord(t *testing.T) {
	st := stacktest.New(t)
	svc, proxy := viaProxy(t, st)
	proxy.Add(&stacktest.Fault{Op: "PutItem", Times: 1, LoseAnswer: true})
	sub := contactSub("Lost", stacktest.Unique("lost")+"@example.com", "")
	sub.IdempotencyKey, sub.IdempotencyKeySent = stacktest.Unique("k"), true
	res, err := submit(t, svc, sub)
	if err != nil {
		t.Fatalf("after a lost answer: %v", err)
	}
	if proxy.Seen("PutItem") < 2 {
		t.Fatalf("the SDK did not retry the put (%d puts)", proxy.Seen("PutItem"))
	}
	again, err := submit(t, svc, sub)
	if err != nil || !again.Replayed || again.SubmissionID != res.SubmissionID {
		t.Fatalf("retry: %+v %v", again, err)
	}
}

// The transaction is applied but its answer lost: the SDK's retry carries
// the same client request token, so it is not applied twice and the
// submission is answered as written.
func TestLostAnswerOfCommit(t *testing.T) {
	st := stacktest.New(t)
	svc, proxy := viaProxy(t, st)
	proxy.Add(&stacktest.Fault{Op: "TransactWriteItems", Times: 1, LoseAnswer: true})
	res, err := submit(t, svc, contactSub("Lost", stacktest.Unique("lostc")+"@example.com", ""))
	if err != nil {
		t.Fatalf("after a lost commit answer: %v", err)
	}
	if c := st.Count(t); c["submission"] != 1 || c["profile"] != 1 {
		t.Fatalf("items: %v", c)
	}
	if _, err := st.Store.Entry(context.Background(), res.CustomerID, res.SubmissionID); err != nil {
		t.Fatalf("the answered submission is not the stored one: %v", err)
	}
}

// A client that hangs up once the transaction is on its way does not turn
// a write into an error: it is finished and reported as written.
func TestClientHangUpDuringCommit(t *testing.T) {
	st := stacktest.New(t)
	svc, proxy := viaProxy(t, st)
	def := mustForm(t, svc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	proxy.Add(&stacktest.Fault{Op: "TransactWriteItems", Times: 1, Arrive: cancel})
	sub := contactSub("Gone", stacktest.Unique("gone")+"@example.com", "")
	sub.IdempotencyKey, sub.IdempotencyKeySent = stacktest.Unique("k"), true
	res, err := svc.Submit(ctx, def, sub)
	if err != nil {
		t.Fatalf("hang-up during commit: %v", err)
	}
	if _, err := st.Store.Entry(context.Background(), res.CustomerID, res.SubmissionID); err != nil {
		t.Fatalf("not stored: %v", err)
	}
	again, err := svc.Submit(context.Background(), def, sub)
	if err != nil || !again.Replayed {
		t.Fatalf("the client's retry: %+v %v", again, err)
	}
}

// cancellingDB cancels every transaction with a reason a retry cannot
// cure, and counts the attempts.
type cancellingDB struct {
	store.DB
	calls atomic.Int32
}

func (c *cancellingDB) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls.Add(1)
	return nil, &types.TransactionCanceledException{Message: aws.String("cancelled"), CancellationReasons: []types.CancellationReason{
		{Code: aws.String("None")}, {Code: aws.String("ValidationError"), Message: aws.String("Item size has exceeded the maximum allowed size")}}}
}

// A transaction cancelled for a reason a retry cannot cure is not retried
// and is not answered 503 ("retry later") but 500.
func TestNonRetryableCancellation(t *testing.T) {
	st := stacktest.New(t)
	svc, _ := st.Intake(t)
	db := &cancellingDB{DB: st.DB}
	svc.Store = store.New(db, st.Table)
	_, err := submit(t, svc, contactSub("Big", stacktest.Unique("big")+"@example.com", ""))
	if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("err %v", err)
	}
	if n := db.calls.Load(); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
	if p := httpapi.FromError(err); p.Status != 500 {
		t.Fatalf("answered %d", p.Status)
	}
}
