package streams

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscfg "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbt "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

func TestExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	ctx := context.Background()
	cfg, err := awscfg.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	ss := dynamodbstreams.NewFromConfig(cfg)
	name := fmt.Sprintf("explore-%d", time.Now().UnixNano())
	_, err = db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(name),
		AttributeDefinitions: []ddbt.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbt.ScalarAttributeTypeS}},
		KeySchema:            []ddbt.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbt.KeyTypeHash}},
		BillingMode:          ddbt.BillingModePayPerRequest,
		StreamSpecification:  &ddbt.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbt.StreamViewTypeNewAndOldImages}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(name), TimeToLiveSpecification: &ddbt.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)}})
	t.Log("ttl", err)
	dt, _ := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	arn := aws.ToString(dt.Table.LatestStreamArn)
	t.Log("arn", arn, dt.Table.LatestStreamLabel)
	ls, err := ss.ListStreams(ctx, &dynamodbstreams.ListStreamsInput{TableName: aws.String(name)})
	j, _ := json.Marshal(ls)
	t.Log("list", string(j), err)
	desc := func() {
		d, err := ss.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(d.StreamDescription)
		t.Log("desc", string(j))
	}
	desc()
	for i := 0; i < 3; i++ {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]ddbt.AttributeValue{"pk": &ddbt.AttributeValueMemberS{Value: fmt.Sprint(i)}, "n": &ddbt.AttributeValueMemberN{Value: "1"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]ddbt.AttributeValue{"pk": &ddbt.AttributeValueMemberS{Value: "ttl"}, "ttl": &ddbt.AttributeValueMemberN{Value: fmt.Sprint(time.Now().Add(-time.Hour).Unix())}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(name), Key: map[string]ddbt.AttributeValue{"pk": &ddbt.AttributeValueMemberS{Value: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	desc()
	d, _ := ss.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
	sh := d.StreamDescription.Shards[0]
	it, err := ss.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: sh.ShardId, ShardIteratorType: st.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	iter := it.ShardIterator
	t.Log("iter", aws.ToString(iter))
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		out, err := ss.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			j, _ := json.Marshal(r)
			t.Log("rec", string(j))
		}
		if out.NextShardIterator == nil {
			t.Log("closed")
			break
		}
		if aws.ToString(out.NextShardIterator) == aws.ToString(iter) {
			t.Log("same iter")
		}
		iter = out.NextShardIterator
		time.Sleep(500 * time.Millisecond)
	}
	desc()
	// iterators at sequence
	_, err = ss.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: sh.ShardId, ShardIteratorType: st.ShardIteratorTypeAtSequenceNumber, SequenceNumber: sh.SequenceNumberRange.StartingSequenceNumber})
	t.Log("at seq", err)
}
