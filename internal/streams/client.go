package streams

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
)

// Streams is the part of the DynamoDB Streams client the Runner uses.
type Streams interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
	ListStreams(ctx context.Context, in *dynamodbstreams.ListStreamsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.ListStreamsOutput, error)
}

var _ Streams = (*dynamodbstreams.Client)(nil)

// DescribeTabler finds the table's latest stream.
type DescribeTabler interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
}

var _ DescribeTabler = (*dynamodb.Client)(nil)

// NewClient builds the DynamoDB Streams client. DynamoDB Local serves
// streams on its DynamoDB endpoint, so when AWS_ENDPOINT_URL_DYNAMODB_STREAMS
// is unset and AWS_ENDPOINT_URL_DYNAMODB is set (the local stack), the client
// uses the latter; otherwise the SDK's usual endpoint resolution applies.
func NewClient(cfg aws.Config, optFns ...func(*dynamodbstreams.Options)) *dynamodbstreams.Client {
	local := func(o *dynamodbstreams.Options) {
		if os.Getenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS") != "" {
			return
		}
		if u := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	}
	return dynamodbstreams.NewFromConfig(cfg, append([]func(*dynamodbstreams.Options){local}, optFns...)...)
}
