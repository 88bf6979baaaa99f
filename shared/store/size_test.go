package store

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestItemSize(t *testing.T) {
	item := map[string]types.AttributeValue{
		"pk":   &types.AttributeValueMemberS{Value: "CUST#1"},         // 2 + 6
		"data": &types.AttributeValueMemberB{Value: make([]byte, 10)}, // 4 + 10
		"n":    &types.AttributeValueMemberN{Value: "12345"},          // 1 + 4
		"ok":   &types.AttributeValueMemberBOOL{Value: true},          // 2 + 1
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{ // 1 + 3 + (1+1+1)
			"a": &types.AttributeValueMemberS{Value: "b"},
		}},
	}
	if got, want := ItemSize(item), 8+14+5+3+7; got != want {
		t.Fatalf("size %d, want %d", got, want)
	}
	cases := []struct {
		size int
		tx   bool
		want int
	}{{1, false, 1}, {1024, false, 1}, {1025, false, 2}, {1024, true, 2}, {1025, true, 4}, {0, true, 2}}
	for _, c := range cases {
		if got := WriteUnits(c.size, c.tx); got != c.want {
			t.Errorf("WriteUnits(%d, %v) = %d, want %d", c.size, c.tx, got, c.want)
		}
	}
}
