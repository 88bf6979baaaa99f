package streams

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// fakeStreams is an in-memory stream with shards that can close and split,
// which DynamoDB Local never does on its own.
type fakeStreams struct {
	mu     sync.Mutex
	arn    string
	shards []*fakeShard
	seq    int
	calls  map[string]int
	// pageSize caps DescribeStream's shards per page, to exercise paging.
	pageSize int
}

type fakeShard struct {
	id, parent string
	records    []types.Record
	closed     bool
}

func newFake() *fakeStreams {
	return &fakeStreams{arn: "arn:aws:dynamodb:ddblocal:000000000000:table/fake/stream/2026-01-01T00:00:00.000", calls: map[string]int{}}
}

var _ Streams = (*fakeStreams)(nil)

func (f *fakeStreams) shard(id string) *fakeShard {
	for _, s := range f.shards {
		if s.id == id {
			return s
		}
	}
	return nil
}

// addShard adds an open shard.
func (f *fakeStreams) addShard(id, parent string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shards = append(f.shards, &fakeShard{id: id, parent: parent})
}

// put appends INSERT records with the given keys to an open shard.
func (f *fakeStreams) put(id string, keys ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.shard(id)
	if s.closed {
		panic("put on closed shard " + id)
	}
	for _, k := range keys {
		f.seq++
		seq := fmt.Sprintf("%021d", f.seq)
		now := time.Unix(1795454796, 0).UTC()
		s.records = append(s.records, types.Record{
			AwsRegion: aws.String("ddblocal"), EventID: aws.String("ev-" + seq), EventName: types.OperationTypeInsert,
			EventSource: aws.String("aws:dynamodb"), EventVersion: aws.String("1.1"),
			Dynamodb: &types.StreamRecord{
				ApproximateCreationDateTime: &now,
				Keys:                        map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: k}},
				NewImage:                    map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: k}},
				SequenceNumber:              aws.String(seq), SizeBytes: aws.Int64(int64(len(k))),
				StreamViewType: types.StreamViewTypeNewAndOldImages,
			},
		})
	}
}

func (f *fakeStreams) close(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shard(id).closed = true
}

func (f *fakeStreams) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeStreams) DescribeStream(_ context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["DescribeStream"]++
	if aws.ToString(in.StreamArn) != f.arn {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no stream")}
	}
	d := &types.StreamDescription{StreamArn: aws.String(f.arn), StreamStatus: types.StreamStatusEnabled}
	started := in.ExclusiveStartShardId == nil
	for _, s := range f.shards {
		if !started {
			started = s.id == aws.ToString(in.ExclusiveStartShardId)
			continue
		}
		if f.pageSize > 0 && len(d.Shards) == f.pageSize {
			d.LastEvaluatedShardId = d.Shards[len(d.Shards)-1].ShardId
			break
		}
		sh := types.Shard{ShardId: aws.String(s.id), SequenceNumberRange: &types.SequenceNumberRange{StartingSequenceNumber: aws.String("0")}}
		if s.parent != "" {
			sh.ParentShardId = aws.String(s.parent)
		}
		if s.closed {
			sh.SequenceNumberRange.EndingSequenceNumber = aws.String("9")
		}
		d.Shards = append(d.Shards, sh)
	}
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: d}, nil
}

func (f *fakeStreams) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["GetShardIterator"]++
	s := f.shard(aws.ToString(in.ShardId))
	if s == nil {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no shard")}
	}
	pos := 0
	switch in.ShardIteratorType {
	case types.ShardIteratorTypeTrimHorizon:
	case types.ShardIteratorTypeLatest:
		pos = len(s.records)
	case types.ShardIteratorTypeAfterSequenceNumber:
		pos = -1
		for i, r := range s.records {
			if *r.Dynamodb.SequenceNumber == aws.ToString(in.SequenceNumber) {
				pos = i + 1
			}
		}
		if pos < 0 {
			return nil, &types.TrimmedDataAccessException{Message: aws.String("trimmed")}
		}
	default:
		return nil, fmt.Errorf("fake: iterator type %s", in.ShardIteratorType)
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(s.id + "|" + strconv.Itoa(pos))}, nil
}

func (f *fakeStreams) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["GetRecords"]++
	id, p, _ := strings.Cut(aws.ToString(in.ShardIterator), "|")
	pos, _ := strconv.Atoi(p)
	s := f.shard(id)
	if s == nil {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no shard")}
	}
	end := min(pos+int(aws.ToInt32(in.Limit)), len(s.records))
	out := &dynamodbstreams.GetRecordsOutput{Records: s.records[pos:end]}
	if !s.closed || end < len(s.records) {
		out.NextShardIterator = aws.String(s.id + "|" + strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeStreams) ListStreams(_ context.Context, in *dynamodbstreams.ListStreamsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.ListStreamsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["ListStreams"]++
	return &dynamodbstreams.ListStreamsOutput{Streams: []types.Stream{
		{StreamArn: aws.String("old"), StreamLabel: aws.String("2025-01-01T00:00:00.000"), TableName: in.TableName},
		{StreamArn: aws.String(f.arn), StreamLabel: aws.String("2026-01-01T00:00:00.000"), TableName: in.TableName},
	}}, nil
}
