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

func TestExplore2(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	ctx := context.Background()
	cfg, _ := awscfg.LoadDefaultConfig(ctx)
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true })
	ss := dynamodbstreams.NewFromConfig(cfg)
	name := fmt.Sprintf("explore-%d", time.Now().UnixNano())
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(name),
		AttributeDefinitions: []ddbt.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbt.ScalarAttributeTypeS}},
		KeySchema:            []ddbt.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbt.KeyTypeHash}},
		BillingMode:          ddbt.BillingModePayPerRequest,
		StreamSpecification:  &ddbt.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbt.StreamViewTypeNewAndOldImages}})
	if err != nil {
		t.Fatal(err)
	}
	dt, _ := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	arn := aws.ToString(dt.Table.LatestStreamArn)
	desc := func(a string) {
		d, err := ss.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(a)})
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(d.StreamDescription.Shards)
		t.Log("desc", d.StreamDescription.StreamStatus, string(j), aws.ToString(d.StreamDescription.LastEvaluatedShardId))
	}
	start := time.Now()
	for i := 0; i < 120; i++ {
		var reqs []ddbt.WriteRequest
		for j := 0; j < 25; j++ {
			reqs = append(reqs, ddbt.WriteRequest{PutRequest: &ddbt.PutRequest{Item: map[string]ddbt.AttributeValue{"pk": &ddbt.AttributeValueMemberS{Value: fmt.Sprint(i, "-", j)}}}})
		}
		if _, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbt.WriteRequest{name: reqs}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Log("3000 writes", time.Since(start))
	desc(arn)
	// read all with big limit
	d, _ := ss.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
	it, _ := ss.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: d.StreamDescription.Shards[0].ShardId, ShardIteratorType: st.ShardIteratorTypeTrimHorizon})
	out, err := ss.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1000)})
	t.Log("getrecords 1000", len(out.Records), err)
	out, err = ss.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(5000)})
	t.Log("getrecords reuse iterator 5000", err)
	out, err = ss.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String("bogus")})
	t.Logf("bogus %T %v", err, err)
	// disable the stream
	_, err = db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(name), StreamSpecification: &ddbt.StreamSpecification{StreamEnabled: aws.Bool(false)}})
	t.Log("disable", err)
	desc(arn)
	_, err = db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(name), StreamSpecification: &ddbt.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbt.StreamViewTypeNewAndOldImages}})
	t.Log("enable", err)
	dt, _ = db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	t.Log("new arn", aws.ToString(dt.Table.LatestStreamArn))
	desc(arn)
	desc(aws.ToString(dt.Table.LatestStreamArn))
	_, err = db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	t.Log(err)
	_, err = ss.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
	t.Logf("after delete %T %v", err, err)
}
