package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// segmentShards spreads every segment's members and counts over this many
// partitions, so no partition takes more than about 10,000 / 32 ≈ 310
// writes a second when every profile of a busy table changes segment at
// once (DynamoDB allows 1,000 per partition; the issue asks ≤ 500).
const segmentShards = 32

// ErrStale means a customer's segment state is not what the caller read
// (another record or the sweep got there first): nothing was written;
// read again and decide again.
var ErrStale = errors.New("segments already computed from this or a newer profile version")

// SegmentState is a customer's current segments, the profile version they
// were computed from, and when they next change with time alone.
type SegmentState struct {
	PK       string    `dynamodbav:"pk"`
	SK       string    `dynamodbav:"sk"`
	Entity   string    `dynamodbav:"entity"`
	Version  int64     `dynamodbav:"version"`
	Segments []string  `dynamodbav:"segments,stringset,omitempty"`
	Removed  bool      `dynamodbav:"removed,omitempty"` // the profile is gone: nothing brings it back
	NextDue  time.Time `dynamodbav:"next_due,unixtime,omitempty"`
	// Matched is the profile's count of matched submissions by channel
	// (Profile.Matched) as last counted: a newer image adds the difference
	// to the duplicates-prevented counts, so a redelivered, skipped or
	// out-of-order record counts each duplicate exactly once.
	Matched map[string]int64 `dynamodbav:"matched,omitempty"`
}

const segmentStateSK = "SEGMENTS"

// SegmentsOf returns a customer's segment state (zero when none yet).
func (s *Store) SegmentsOf(ctx context.Context, customerID string) (*SegmentState, error) {
	var st SegmentState
	err := s.get(ctx, profilePK(customerID), segmentStateSK, &st)
	if errors.Is(err, ErrNotFound) {
		return &SegmentState{}, nil
	}
	return &st, err
}

func shardOf(customerID string) int {
	h := fnv.New32a()
	h.Write([]byte(customerID))
	return int(h.Sum32() % segmentShards)
}

func memberPK(name string, shard int) string { return "SEG#" + name + "#" + strconv.Itoa(shard) }
func countPK(shard int) string               { return "SEGCOUNT#" + strconv.Itoa(shard) }

// matchedSK names a channel's duplicates-prevented count beside the
// segment counts ('#' begins no segment name).
func matchedSK(channel string) string    { return "#matched:" + channel }
func duePK(day string, shard int) string { return "SEGDUE#" + day + "#" + strconv.Itoa(shard) }

// DueDay is the sweep's daily bucket of a time.
func DueDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// ApplySegments records a customer's segments computed from profile
// version next.Version, in one transaction: the state (only if it is still
// prev, which the caller read and compared), each segment joined and left
// (membership item, count ±1 on the customer's shard), and the sweep's due
// entry. ErrStale: the state changed in between; nothing was written.
func (s *Store) ApplySegments(ctx context.Context, customerID string, prev *SegmentState, next SegmentState, now time.Time) error {
	shard := shardOf(customerID)
	var items []types.TransactWriteItem
	next.PK, next.SK, next.Entity = profilePK(customerID), segmentStateSK, "segments"
	slices.Sort(next.Segments)
	next.Segments = slices.Compact(next.Segments)
	item, err := attributevalue.MarshalMap(next)
	if err != nil {
		return err
	}
	// The state must still be what the caller read (no concurrent stream
	// record or sweep applied in between: counts stay exact), and never
	// anything after a removal. The caller checked the versions.
	cond := expression.AttributeNotExists(expression.Name(PK))
	if prev.Version != 0 {
		cond = expression.Name("version").Equal(expression.Value(prev.Version))
	}
	cond = cond.And(expression.AttributeNotExists(expression.Name("removed")))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return err
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}})
	count := func(name string, delta int64) (types.TransactWriteItem, error) {
		e, err := expression.NewBuilder().WithUpdate(expression.Add(expression.Name("count"), expression.Value(delta)).
			Set(expression.Name("entity"), expression.Value("segment-count"))).Build()
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		return types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: key(countPK(shard), name), UpdateExpression: e.Update(),
			ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}}, nil
	}
	for _, name := range next.Segments {
		if slices.Contains(prev.Segments, name) {
			continue
		}
		m, err := attributevalue.MarshalMap(map[string]any{PK: memberPK(name, shard), SK: customerID, "entity": "segment-member", "at": now.Unix()})
		if err != nil {
			return err
		}
		c, err := count(name, 1)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: m}}, c)
	}
	for _, name := range prev.Segments {
		if slices.Contains(next.Segments, name) {
			continue
		}
		c, err := count(name, -1)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(memberPK(name, shard), customerID)}}, c)
	}
	for _, ch := range slices.Sorted(maps.Keys(next.Matched)) {
		if d := next.Matched[ch] - prev.Matched[ch]; d > 0 {
			c, err := count(matchedSK(ch), d)
			if err != nil {
				return err
			}
			items = append(items, c)
		}
	}
	oldDay, newDay := "", ""
	if !prev.NextDue.IsZero() {
		oldDay = DueDay(prev.NextDue)
	}
	if !next.NextDue.IsZero() {
		newDay = DueDay(next.NextDue)
	}
	if oldDay != newDay {
		if oldDay != "" {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(duePK(oldDay, shard), customerID)}})
		}
		if newDay != "" {
			d, err := attributevalue.MarshalMap(map[string]any{PK: duePK(newDay, shard), SK: customerID, "entity": "segment-due"})
			if err != nil {
				return err
			}
			items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: d}})
		}
	}
	if len(items) > 100 {
		return fmt.Errorf("segments of %s: %d items in one transaction", customerID, len(items))
	}
	err = s.transact(ctx, items, "", "segments of "+customerID)
	if failed := cancelled(err); slices.Contains(failed, 0) {
		return ErrStale
	}
	return err
}

// SegmentMembers lists up to limit customer ids in a segment, and its
// exact member count: per shard, in parallel, one Query of members and
// one read of the shard's count.
func (s *Store) SegmentMembers(ctx context.Context, name string, limit int) ([]string, int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	type shardResult struct {
		members []string
		count   int64
		err     error
	}
	res := make([]shardResult, segmentShards)
	var wg sync.WaitGroup
	for shard := range segmentShards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &res[shard]
			// Projected: the analysts' role reads named attributes only.
			out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: aws.String("pk = :pk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: memberPK(name, shard)}},
				ProjectionExpression:      aws.String("sk"), Limit: aws.Int32(int32(limit)), ConsistentRead: aws.Bool(true)})
			if err != nil {
				r.err = fmt.Errorf("members of a segment: %w", classify(err))
				return
			}
			for _, it := range out.Items {
				if sk, ok := it[SK].(*types.AttributeValueMemberS); ok {
					r.members = append(r.members, sk.Value)
				}
			}
			c, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(countPK(shard), name),
				ProjectionExpression: aws.String("#c"), ExpressionAttributeNames: map[string]string{"#c": "count"}, ConsistentRead: aws.Bool(true)})
			if err != nil {
				r.err = fmt.Errorf("count of a segment: %w", classify(err))
				return
			}
			var v struct {
				Count int64 `dynamodbav:"count"`
			}
			if err := attributevalue.UnmarshalMap(c.Item, &v); err != nil {
				r.err = fmt.Errorf("count of a segment: %w", err)
				return
			}
			r.count = v.Count
		}()
	}
	wg.Wait()
	var members []string
	var count int64
	for _, r := range res {
		if r.err != nil {
			return nil, 0, r.err
		}
		members, count = append(members, r.members...), count+r.count
	}
	slices.Sort(members)
	if len(members) > limit {
		members = members[:limit]
	}
	return members, count, nil
}

// queryShards queries the partition pk(shard) of every shard, in
// parallel, and returns all their items.
func queryShards[T any](ctx context.Context, s *Store, pk func(shard int) string, what string, project ...string) ([]T, error) {
	shards := make([][]T, segmentShards)
	errs := make([]error, segmentShards)
	var wg sync.WaitGroup
	for shard := range segmentShards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shards[shard], errs[shard] = queryAll[T](ctx, s, expression.Key(PK).Equal(expression.Value(pk(shard))), what, project...)
		}()
	}
	wg.Wait()
	return slices.Concat(shards...), errors.Join(errs...)
}

// Counts are the exact figures the segmenter keeps.
type Counts struct {
	Segments map[string]int64 // members by segment (none empty)
	Matched  map[string]int64 // duplicates prevented by channel
}

// Counts returns every segment's exact member count and the duplicates
// prevented by channel (one Query per count shard, in parallel, summed).
func (s *Store) Counts(ctx context.Context) (*Counts, error) {
	rows, err := queryShards[struct {
		SK    string `dynamodbav:"sk"`
		Count int64  `dynamodbav:"count"`
	}](ctx, s, countPK, "segment counts", "sk", "count")
	c := &Counts{Segments: map[string]int64{}, Matched: map[string]int64{}}
	for _, r := range rows {
		if ch, ok := strings.CutPrefix(r.SK, matchedSK("")); ok {
			c.Matched[ch] += r.Count
		} else {
			c.Segments[r.SK] += r.Count
		}
	}
	maps.DeleteFunc(c.Segments, func(_ string, n int64) bool { return n == 0 })
	return c, err
}

// SegmentCounts returns every segment's exact member count.
func (s *Store) SegmentCounts(ctx context.Context) (map[string]int64, error) {
	c, err := s.Counts(ctx)
	if err != nil {
		return nil, err
	}
	return c.Segments, nil
}

// DueOn lists the customers whose segments change with time on day: the
// day's bucket is sharded as the memberships are (one Query per shard, in
// parallel), so no partition takes every customer's due entry.
func (s *Store) DueOn(ctx context.Context, day string) ([]string, error) {
	rows, err := queryShards[struct {
		SK string `dynamodbav:"sk"`
	}](ctx, s, func(shard int) string { return duePK(day, shard) }, "due on "+day, "sk")
	var out []string
	for _, r := range rows {
		out = append(out, r.SK)
	}
	return out, err
}
