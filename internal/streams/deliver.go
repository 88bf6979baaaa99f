package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/google/uuid"
)

// deliver converts and filters one page of a shard and hands it to the
// handler. It returns false only when ctx ended first.
func (r *Runner) deliver(ctx context.Context, st *stream, sh *shard, page []types.Record) bool {
	batch := make([]events.DynamoDBEventRecord, 0, len(page))
	for _, rec := range page {
		ev := EventRecord(rec, st.arn)
		r.records.Add(1)
		if r.Filter != nil && !r.Filter(ev) {
			r.filtered.Add(1)
			continue
		}
		batch = append(batch, ev)
	}
	if !r.handle(ctx, sh.id, batch, false) {
		return false
	}
	if last := page[len(page)-1].Dynamodb; last != nil && last.SequenceNumber != nil {
		sh.after = aws.ToString(last.SequenceNumber)
	}
	return true
}

// handle calls the handler until every record of batch is done or skipped,
// the way an event source mapping with ReportBatchItemFailures does:
//
//   - a response naming records by SequenceNumber fails the first of them;
//     the records before it are done, and the batch is sent again from it;
//   - an error, a panic, or a response naming a record not in the batch
//     fails the whole batch;
//   - a position is retried MaxRetries times, with a growing backoff. Then a
//     failed record is skipped and reported, and a batch that failed as a
//     whole is split in two (BisectBatchOnFunctionError) and each half sent
//     once, splitting again on failure, until the failing record is alone,
//     so a poison record is reported alone and the rest are processed.
//
// Every failure moves past a record or halves the batch, so handle ends. It
// returns false only when ctx ended first.
func (r *Runner) handle(ctx context.Context, shardID string, batch []events.DynamoDBEventRecord, half bool) bool {
	attempts := 0
	for len(batch) > 0 {
		resp, err := r.invoke(ctx, batch)
		if ctx.Err() != nil {
			return false
		}
		r.invocations.Add(1)
		done, whole, reason := failure(batch, resp, err)
		r.delivered.Add(int64(done))
		if done == len(batch) {
			return true
		}
		r.failures.Add(1)
		if done > 0 {
			batch, attempts = batch[done:], 0
		}
		attempts++
		limit := r.maxRetries()
		if half && whole && len(batch) > 1 {
			limit = 0
		}
		rec := batch[0]
		if attempts <= limit {
			r.log().Warn("stream batch failed; retrying", "shard", shardID, "sequence_number", rec.Change.SequenceNumber,
				"records", len(batch), "whole_batch", whole, "attempt", attempts, "err", reason)
			if !sleep(ctx, r.backoff(attempts)) {
				return false
			}
			continue
		}
		if whole && len(batch) > 1 {
			h := len(batch) / 2
			r.log().Warn("stream batch failed; splitting it", "shard", shardID, "sequence_number", rec.Change.SequenceNumber,
				"records", len(batch), "err", reason)
			return r.handle(ctx, shardID, batch[:h], true) && r.handle(ctx, shardID, batch[h:], true)
		}
		r.skipped.Add(1)
		r.log().Error("stream record skipped after retries", "shard", shardID, "sequence_number", rec.Change.SequenceNumber,
			"event_id", rec.EventID, "event_name", rec.EventName, "attempts", attempts, "err", reason)
		if r.OnFailure != nil {
			r.OnFailure(ctx, rec, reason)
		}
		batch, attempts = batch[1:], 0
	}
	return true
}

// failure reads a handler's outcome: how many leading records are done, and
// whether the whole batch failed, with why.
func failure(batch []events.DynamoDBEventRecord, resp events.DynamoDBEventResponse, err error) (done int, whole bool, reason error) {
	if err != nil {
		return 0, true, err
	}
	if len(resp.BatchItemFailures) == 0 {
		return len(batch), false, nil
	}
	first := len(batch)
	for _, f := range resp.BatchItemFailures {
		i := slices.IndexFunc(batch, func(e events.DynamoDBEventRecord) bool { return e.Change.SequenceNumber == f.ItemIdentifier })
		if f.ItemIdentifier == "" || i < 0 {
			return 0, true, fmt.Errorf("batch item failure %q is not the SequenceNumber of a record in the batch", f.ItemIdentifier)
		}
		first = min(first, i)
	}
	return first, false, fmt.Errorf("handler reported record %s failed", batch[first].Change.SequenceNumber)
}

// ErrPanic wraps a handler's panic.
var ErrPanic = errors.New("handler panicked")

// invoke calls the handler as Lambda would: the records round-tripped
// through Lambda's JSON, a request id in the context, the deadline of
// Timeout, and a panic turned into an error.
func (r *Runner) invoke(ctx context.Context, batch []events.DynamoDBEventRecord) (resp events.DynamoDBEventResponse, err error) {
	ev, err := payload(batch)
	if err != nil {
		return resp, err
	}
	reqID := uuid.NewString()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: reqID})
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			r.log().Error("stream handler panicked", "request_id", reqID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	return r.Handler(ctx, ev)
}

// payload is the event as the handler would decode it from Lambda's JSON, so
// no invocation shares maps with another.
func payload(batch []events.DynamoDBEventRecord) (events.DynamoDBEvent, error) {
	var ev events.DynamoDBEvent
	b, err := json.Marshal(events.DynamoDBEvent{Records: batch})
	if err != nil {
		return ev, fmt.Errorf("encode stream event: %w", err)
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, fmt.Errorf("decode stream event: %w", err)
	}
	return ev, nil
}

func (r *Runner) backoff(attempt int) time.Duration {
	d := or(r.Backoff, DefaultBackoff)
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
