package streams

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// allTypes is an item with an attribute of every type, as the stream API
// returns it.
func allTypes() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":   &types.AttributeValueMemberS{Value: "customer#1"},
		"s":    &types.AttributeValueMemberS{Value: "华东"},
		"n":    &types.AttributeValueMemberN{Value: "1234.50"},
		"b":    &types.AttributeValueMemberB{Value: []byte{0, 1, 2}},
		"bool": &types.AttributeValueMemberBOOL{Value: true},
		"null": &types.AttributeValueMemberNULL{Value: true},
		"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberN{Value: "2"}}},
		"m":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"inner": &types.AttributeValueMemberBOOL{Value: false}}},
		"ss":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns":   &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
		"bs":   &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
	}
}

// allTypesJSON is allTypes as it appears in the event Lambda delivers.
const allTypesJSON = `{
	"pk": {"S": "customer#1"}, "s": {"S": "华东"}, "n": {"N": "1234.50"}, "b": {"B": "AAEC"},
	"bool": {"BOOL": true}, "null": {"NULL": true},
	"l": {"L": [{"S": "x"}, {"N": "2"}]}, "m": {"M": {"inner": {"BOOL": false}}},
	"ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": ["AQ==", "AgM="]}
}`

func sameJSON(t *testing.T, got any, want string) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}

func TestEventRecord(t *testing.T) {
	created := time.Date(2026, 11, 23, 17, 26, 0, 0, time.UTC)
	arn := "arn:aws:dynamodb:ddblocal:000000000000:table/kehu-local/stream/2026-11-23T17:26:36.374"
	rec := types.Record{
		AwsRegion: aws.String("ddblocal"), EventID: aws.String("7401ea5d"), EventName: types.OperationTypeModify,
		EventSource: aws.String("aws:dynamodb"), EventVersion: aws.String("1.1"),
		Dynamodb: &types.StreamRecord{
			ApproximateCreationDateTime: &created,
			Keys:                        map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "customer#1"}},
			NewImage:                    allTypes(),
			OldImage:                    map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "customer#1"}},
			SequenceNumber:              aws.String("000000000000000000004"), SizeBytes: aws.Int64(19),
			StreamViewType: types.StreamViewTypeNewAndOldImages,
		},
	}
	got := EventRecord(rec, arn)
	sameJSON(t, got, `{
		"awsRegion": "ddblocal", "eventID": "7401ea5d", "eventName": "MODIFY", "eventSource": "aws:dynamodb",
		"eventVersion": "1.1", "eventSourceARN": "`+arn+`",
		"dynamodb": {
			"ApproximateCreationDateTime": 1795454760,
			"Keys": {"pk": {"S": "customer#1"}},
			"NewImage": `+allTypesJSON+`,
			"OldImage": {"pk": {"S": "customer#1"}},
			"SequenceNumber": "000000000000000000004", "SizeBytes": 19, "StreamViewType": "NEW_AND_OLD_IMAGES"
		}
	}`)
	// and it survives Lambda's JSON, as the handler receives it
	ev, err := payload([]events.DynamoDBEventRecord{got})
	if err != nil {
		t.Fatal(err)
	}
	n := ev.Records[0].Change.NewImage
	if n["n"].DataType() != events.DataTypeNumber || n["n"].Number() != "1234.50" || n["bs"].DataType() != events.DataTypeBinarySet ||
		n["null"].DataType() != events.DataTypeNull || n["m"].Map()["inner"].Boolean() {
		t.Errorf("decoded image %v", n)
	}
	if !ev.Records[0].Change.ApproximateCreationDateTime.Equal(created) {
		t.Errorf("ApproximateCreationDateTime %v, want %v", ev.Records[0].Change.ApproximateCreationDateTime, created)
	}
}

func TestEventName(t *testing.T) {
	img := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}}
	tests := []struct {
		name     string
		in       types.OperationType
		new, old map[string]types.AttributeValue
		identity *types.Identity
		want     string
	}{
		{"insert", types.OperationTypeInsert, img, nil, nil, "INSERT"},
		{"modify", types.OperationTypeModify, img, img, nil, "MODIFY"},
		{"remove", types.OperationTypeRemove, nil, img, nil, "REMOVE"},
		{"DynamoDB Local's TTL deletion", "UNKNOWN_TO_SDK_VERSION", nil, img, nil, "REMOVE"},
		{"TTL deletion as Lambda delivers it", types.OperationTypeRemove, nil, img,
			&types.Identity{Type: aws.String("Service"), PrincipalId: aws.String("dynamodb.amazonaws.com")}, "REMOVE"},
		{"unknown name, keys only", "SOMETHING_NEW", nil, nil, nil, "REMOVE"},
		{"unknown name with both images", "SOMETHING_NEW", img, img, nil, "MODIFY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EventRecord(types.Record{EventName: tc.in, UserIdentity: tc.identity,
				Dynamodb: &types.StreamRecord{Keys: img, NewImage: tc.new, OldImage: tc.old}}, "arn")
			if got.EventName != tc.want {
				t.Errorf("EventName %q, want %q", got.EventName, tc.want)
			}
			if tc.identity == nil && got.UserIdentity != nil {
				t.Errorf("UserIdentity %+v, want none, as given", got.UserIdentity)
			}
			if tc.identity != nil && (got.UserIdentity == nil || got.UserIdentity.Type != "Service" || got.UserIdentity.PrincipalID != "dynamodb.amazonaws.com") {
				t.Errorf("UserIdentity %+v", got.UserIdentity)
			}
			if got.EventSource != "aws:dynamodb" {
				t.Errorf("EventSource %q", got.EventSource)
			}
		})
	}
}

func TestNilImage(t *testing.T) {
	if Image(nil) != nil {
		t.Error("a nil image must stay nil")
	}
}
