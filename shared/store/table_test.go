package store_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kehu-dev/kehu/internal/stacktest"
	"github.com/kehu-dev/kehu/shared/store"
)

// EnsureTable runs on every start of the local stack: on a table that
// exists with TTL on, it changes nothing and does not fail.
func TestEnsureTableTwice(t *testing.T) {
	st := stacktest.New(t) // created and EnsureTable'd once
	ctx := context.Background()
	for range 2 {
		if err := store.EnsureTable(ctx, st.DB, st.Table); err != nil {
			t.Fatal(err)
		}
	}
	out, err := st.DB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(st.Table)})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.TimeToLiveDescription; d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != store.TTL {
		t.Fatalf("TTL %+v", d)
	}
}
