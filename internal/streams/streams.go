// Package streams feeds a DynamoDB table's stream to a Lambda-style handler
// the way Lambda's event source mapping does, through the real DynamoDB
// Streams API: every shard, parents before their children, batches of
// events.DynamoDBEvent, partial batch failures (ReportBatchItemFailures)
// retried from the first failed record with a bound, then skipped and
// reported like an on-failure destination. `make run` and the integration
// tests use it against DynamoDB Local; in AWS, Lambda does this itself.
//
// One Runner calls its Handler from one goroutine, one batch at a time, as
// one Lambda sandbox does. Records of a shard arrive in order; records of
// different shards interleave, and a batch being retried holds up the other
// shards too.
//
// A Runner reads the stream it finds at start, like an event source mapping
// bound to one stream ARN; it keeps no checkpoint, so a restarted Runner
// reads from TRIM_HORIZON again (or LATEST with FromLatest).
//
// Wiring, as cmd/devstack might do it:
//
//	r := &streams.Runner{
//		Streams: streams.NewClient(cfg), // DynamoDB Local serves streams on AWS_ENDPOINT_URL_DYNAMODB
//		DB:      config.DynamoDB(cfg),
//		Table:   table,
//		Handler: segmenter.Handle,
//		Filter:  isProfile, // the event filter of template.yaml
//		Log:     log.With("function", "segmenter"),
//	}
//	go func() { _ = r.Run(ctx) }()
package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Handler is a stream function's handler, as lambda.Start takes it.
type Handler func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Defaults of the Runner's zero fields.
const (
	DefaultBatchSize  = 100
	DefaultMaxRetries = 5
	DefaultPoll       = 200 * time.Millisecond
	DefaultRefresh    = 5 * time.Second
	DefaultBackoff    = 100 * time.Millisecond

	maxBackoff    = time.Second
	maxGetRecords = 1000 // GetRecords' largest Limit
)

// Runner reads one table's stream and calls Handler with its records.
type Runner struct {
	Streams Streams        // NewClient(cfg) or a fake
	DB      DescribeTabler // finds the table's LatestStreamArn; nil: the newest of ListStreams
	Table   string
	// StreamArn, when set, is read instead of the table's latest stream.
	StreamArn string
	Handler   Handler

	BatchSize int // records per invocation, at most 1000 (one GetRecords page); 0: 100
	// MaxRetries is how often a failed record is retried at the same position
	// before it is skipped and reported; 0: 5, negative: never retried. A
	// batch that failed as a whole (an error, a panic) is then split in two
	// until the failing record is alone, like BisectBatchOnFunctionError.
	MaxRetries int
	Poll       time.Duration // wait after a round that read nothing; 0: 200ms
	Refresh    time.Duration // how often DescribeStream looks for new shards; 0: 5s
	Backoff    time.Duration // wait before the first retry, doubled for each further one up to 1s; 0: 100ms
	Timeout    time.Duration // the handler's deadline, like a function timeout; 0: none
	// FromLatest starts the shards open at start at LATEST and skips the
	// closed ones (StartingPosition LATEST); by default every shard found at
	// start is read from TRIM_HORIZON. Shards found later always start at
	// TRIM_HORIZON.
	FromLatest bool
	// Filter, like an event filter, drops the records it returns false for:
	// they are never delivered, and the shard moves past them. nil: all.
	Filter func(events.DynamoDBEventRecord) bool
	// OnFailure, like an on-failure destination, is told of each record
	// skipped after MaxRetries. It is also logged and counted.
	OnFailure func(ctx context.Context, rec events.DynamoDBEventRecord, err error)
	Log       *slog.Logger // nil: discard

	records, filtered, invocations, failures, delivered, skipped atomic.Int64
	troubled                                                     map[string]bool
}

// Stats counts what a Runner has done.
type Stats struct {
	Records     int64 // read from the stream
	Filtered    int64 // dropped by Filter
	Invocations int64 // handler calls
	Failures    int64 // handler calls that failed in whole or in part
	Delivered   int64 // records the handler completed
	Skipped     int64 // records given up on after MaxRetries
}

// Stats returns the counts so far. It is safe to call while Run runs.
func (r *Runner) Stats() Stats {
	return Stats{
		Records: r.records.Load(), Filtered: r.filtered.Load(), Invocations: r.invocations.Load(),
		Failures: r.failures.Load(), Delivered: r.delivered.Load(), Skipped: r.skipped.Load(),
	}
}

// ErrNoStream means the table has no stream to read.
var ErrNoStream = errors.New("table has no stream")

// shard is what the Runner knows of one shard.
type shard struct {
	id, parent string
	start      types.ShardIteratorType // where reading starts without a position
	after      string                  // sequence number of the last record done with
	iter       *string
	done       bool // read to its end (or gone)
}

type stream struct {
	arn      string
	shards   map[string]*shard
	order    []string // shard ids in the order they were found
	found    bool     // a DescribeStream has succeeded
	dirty    bool     // a shard finished: look for its children now
	lastLook time.Time
}

// Run reads the stream until ctx is done, then returns nil. Call it once
// per Runner. It returns an
// error at once when the table is missing or has no stream; other errors
// (DynamoDB Local restarting, say) are logged once and retried.
func (r *Runner) Run(ctx context.Context) error {
	if r.Streams == nil || r.Handler == nil {
		return errors.New("streams: a Runner needs Streams and Handler")
	}
	if r.StreamArn == "" && r.Table == "" {
		return errors.New("streams: a Runner needs Table or StreamArn")
	}
	arn, err := r.findStream(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	r.log().Info("stream runner started", "table", r.Table, "stream", arn, "from_latest", r.FromLatest)
	st := &stream{arn: arn, shards: map[string]*shard{}}
	for ctx.Err() == nil {
		if !st.found || st.dirty || time.Since(st.lastLook) >= or(r.Refresh, DefaultRefresh) {
			r.describe(ctx, st)
		}
		read := false
		for _, sh := range st.ready() {
			if r.poll(ctx, st, sh) {
				read = true
			}
			if ctx.Err() != nil {
				break
			}
		}
		if !read {
			sleep(ctx, or(r.Poll, DefaultPoll))
		}
	}
	return nil
}

// findStream returns the stream to read, retrying errors that may pass.
func (r *Runner) findStream(ctx context.Context) (string, error) {
	if r.StreamArn != "" {
		return r.StreamArn, nil
	}
	for {
		arn, err := r.lookup(ctx)
		if err == nil {
			r.recovered("find stream")
			return arn, nil
		}
		var nf *ddbtypes.ResourceNotFoundException
		if errors.As(err, &nf) || errors.Is(err, ErrNoStream) {
			return "", err
		}
		r.trouble("find stream", err)
		if !sleep(ctx, or(r.Refresh, DefaultRefresh)) {
			return "", ctx.Err()
		}
	}
}

func (r *Runner) lookup(ctx context.Context) (string, error) {
	if r.DB != nil {
		out, err := r.DB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.Table)})
		if err != nil {
			return "", fmt.Errorf("describe table %s: %w", r.Table, err)
		}
		if out.Table == nil || out.Table.LatestStreamArn == nil ||
			out.Table.StreamSpecification == nil || !aws.ToBool(out.Table.StreamSpecification.StreamEnabled) {
			return "", fmt.Errorf("table %s: %w", r.Table, ErrNoStream)
		}
		return *out.Table.LatestStreamArn, nil
	}
	var latest types.Stream
	in := &dynamodbstreams.ListStreamsInput{TableName: aws.String(r.Table)}
	for {
		out, err := r.Streams.ListStreams(ctx, in)
		if err != nil {
			return "", fmt.Errorf("list streams of %s: %w", r.Table, err)
		}
		for _, s := range out.Streams {
			if aws.ToString(s.StreamLabel) > aws.ToString(latest.StreamLabel) { // labels are timestamps
				latest = s
			}
		}
		if out.LastEvaluatedStreamArn == nil || aws.ToString(out.LastEvaluatedStreamArn) == aws.ToString(in.ExclusiveStartStreamArn) {
			break
		}
		in.ExclusiveStartStreamArn = out.LastEvaluatedStreamArn
	}
	if latest.StreamArn == nil {
		return "", fmt.Errorf("table %s: %w", r.Table, ErrNoStream)
	}
	return *latest.StreamArn, nil
}

// describe learns the stream's shards. The first successful call decides
// where the shards found at start begin.
func (r *Runner) describe(ctx context.Context, st *stream) {
	st.lastLook = time.Now()
	var listed []types.Shard
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(st.arn)}
	for {
		out, err := r.Streams.DescribeStream(ctx, in)
		if err != nil {
			if ctx.Err() == nil {
				r.trouble("describe stream", fmt.Errorf("describe stream %s: %w", st.arn, err))
			}
			return
		}
		if out.StreamDescription == nil {
			break
		}
		listed = append(listed, out.StreamDescription.Shards...)
		next := out.StreamDescription.LastEvaluatedShardId
		if next == nil || aws.ToString(next) == aws.ToString(in.ExclusiveStartShardId) {
			break
		}
		in.ExclusiveStartShardId = next
	}
	r.recovered("describe stream")
	st.dirty = false
	atStart := !st.found
	st.found = true
	seen := make(map[string]bool, len(listed))
	for _, s := range listed {
		id := aws.ToString(s.ShardId)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if st.shards[id] != nil {
			continue
		}
		sh := &shard{id: id, parent: aws.ToString(s.ParentShardId), start: types.ShardIteratorTypeTrimHorizon}
		if atStart && r.FromLatest {
			closed := s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil
			if closed {
				sh.done = true
			} else {
				sh.start = types.ShardIteratorTypeLatest
			}
		}
		st.shards[id] = sh
		st.order = append(st.order, id)
	}
	// Forget finished shards the stream no longer lists (trimmed after 24
	// hours): a child whose parent is unknown starts at once.
	kept := st.order[:0]
	for _, id := range st.order {
		if !seen[id] && st.shards[id].done {
			delete(st.shards, id)
			continue
		}
		kept = append(kept, id)
	}
	st.order = kept
}

// ready lists the shards to read now: unfinished, with no unfinished parent.
func (st *stream) ready() []*shard {
	var out []*shard
	for _, id := range st.order {
		sh := st.shards[id]
		if sh.done {
			continue
		}
		if p := st.shards[sh.parent]; p != nil && !p.done {
			continue
		}
		out = append(out, sh)
	}
	return out
}

// poll reads one page of a shard and delivers it. It reports whether the
// page had records.
func (r *Runner) poll(ctx context.Context, st *stream, sh *shard) bool {
	key := "read shard " + sh.id
	if sh.iter == nil {
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(st.arn), ShardId: aws.String(sh.id), ShardIteratorType: sh.start}
		if sh.after != "" {
			in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(sh.after)
		}
		out, err := r.Streams.GetShardIterator(ctx, in)
		switch {
		case ctx.Err() != nil:
			return false
		case err != nil:
			r.readError(st, sh, key, fmt.Errorf("get shard iterator %s: %w", sh.id, err))
			return false
		case out.ShardIterator == nil: // a closed shard with nothing after the position
			r.finish(st, sh)
			return false
		}
		sh.iter = out.ShardIterator
	}
	out, err := r.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: sh.iter, Limit: aws.Int32(int32(r.batchSize()))})
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		sh.iter = nil // get a fresh one from the position next time
		r.readError(st, sh, key, fmt.Errorf("get records of %s: %w", sh.id, err))
		return false
	}
	r.recovered(key)
	if len(out.Records) > 0 && !r.deliver(ctx, st, sh, out.Records) {
		return false // ctx done: the page stays unfinished
	}
	sh.iter = out.NextShardIterator
	if sh.iter == nil {
		r.finish(st, sh)
	}
	return len(out.Records) > 0
}

func (r *Runner) finish(st *stream, sh *shard) {
	sh.done, sh.iter, st.dirty = true, nil, true
	r.log().Debug("stream shard finished", "shard", sh.id)
}

// readError handles a failed GetShardIterator or GetRecords.
func (r *Runner) readError(st *stream, sh *shard, key string, err error) {
	var expired *types.ExpiredIteratorException
	var trimmed *types.TrimmedDataAccessException
	var gone *types.ResourceNotFoundException
	switch {
	case errors.As(err, &expired): // iterators last 15 minutes; the next poll gets a new one
	case errors.As(err, &trimmed):
		r.log().Warn("stream records were trimmed before they were read; reading the shard from its oldest record", "shard", sh.id, "after", sh.after)
		sh.after, sh.start = "", types.ShardIteratorTypeTrimHorizon
	case errors.As(err, &gone) && st.found:
		r.log().Warn("stream shard no longer exists", "shard", sh.id, "err", err)
		r.finish(st, sh)
	default:
		r.trouble(key, err)
	}
}

// trouble logs an error of a repeating operation once, until it succeeds.
func (r *Runner) trouble(key string, err error) {
	if r.troubled == nil {
		r.troubled = map[string]bool{}
	}
	if r.troubled[key] {
		return
	}
	r.troubled[key] = true
	r.log().Warn("stream runner: "+key+" failed; retrying", "err", err)
}

func (r *Runner) recovered(key string) {
	if r.troubled[key] {
		delete(r.troubled, key)
		r.log().Info("stream runner: " + key + " works again")
	}
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r *Runner) batchSize() int {
	if r.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return min(r.BatchSize, maxGetRecords)
}

func (r *Runner) maxRetries() int {
	switch {
	case r.MaxRetries < 0:
		return 0
	case r.MaxRetries == 0:
		return DefaultMaxRetries
	}
	return r.MaxRetries
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// sleep waits d, or until ctx is done; it reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
