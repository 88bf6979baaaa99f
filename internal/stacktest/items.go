package stacktest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Dump renders an item's names and values as bytes (each followed by a
// NUL; binary values as they are), for searching a raw scan.
func Dump(it map[string]types.AttributeValue) []byte {
	var b bytes.Buffer
	var walk func(types.AttributeValue)
	walk = func(v types.AttributeValue) {
		switch x := v.(type) {
		case *types.AttributeValueMemberS:
			b.WriteString(x.Value + "\x00")
		case *types.AttributeValueMemberN:
			b.WriteString(x.Value + "\x00")
		case *types.AttributeValueMemberB:
			b.Write(x.Value)
			b.WriteByte(0)
		case *types.AttributeValueMemberSS:
			for _, s := range x.Value {
				b.WriteString(s + "\x00")
			}
		case *types.AttributeValueMemberL:
			for _, e := range x.Value {
				walk(e)
			}
		case *types.AttributeValueMemberM:
			for k, e := range x.Value {
				b.WriteString(k + "\x00")
				walk(e)
			}
		}
	}
	for k, v := range it {
		b.WriteString(k + "\x00")
		walk(v)
	}
	return b.Bytes()
}

// WaitSegments waits (up to 20 s) until a customer's segments satisfy ok:
// the stream and the segmenter are asynchronous.
func (s *Stack) WaitSegments(t testing.TB, customerID string, ok func([]string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := s.Store.SegmentsOf(context.Background(), customerID)
		if err == nil && ok(st.Segments) {
			return st.Segments
		}
		if time.Now().After(deadline) {
			t.Fatalf("segments of %s: %+v %v", customerID, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// In is a WaitSegments condition: the customer is (or, with in false, is not) in segment.
func In(segment string, in bool) func([]string) bool {
	return func(s []string) bool { return slices.Contains(s, segment) == in }
}

// MarkVerified marks a customer's identifier (its key in the profile)
// verified, as a click on its confirmation link would, without the
// survey loop; it returns the key.
func (s *Stack) MarkVerified(t testing.TB, customerID, idKey string) string {
	t.Helper()
	_, err := s.DB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{TableName: aws.String(s.Table),
		Key:              map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "CUST#" + customerID}, "sk": &types.AttributeValueMemberS{Value: "PROFILE"}},
		UpdateExpression: aws.String("SET ids.#k.v = :t"), ExpressionAttributeNames: map[string]string{"#k": idKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}})
	if err != nil {
		t.Fatal(err)
	}
	return idKey
}
