package streams

import (
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// EventRecord converts a record read with GetRecords into the record Lambda
// delivers in an events.DynamoDBEvent, with EventSourceArn set to the
// stream's ARN (GetRecords does not return it).
//
// EventName is INSERT, MODIFY or REMOVE. DynamoDB Local names its TTL
// deletions UNKNOWN_TO_SDK_VERSION; such a name becomes what the images say
// it is — REMOVE when there is no new image — and UserIdentity stays as given
// (nil on DynamoDB Local; Lambda's TTL deletions carry type "Service" and
// principal "dynamodb.amazonaws.com").
func EventRecord(r types.Record, streamArn string) events.DynamoDBEventRecord {
	out := events.DynamoDBEventRecord{
		AWSRegion:      aws.ToString(r.AwsRegion),
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    aws.ToString(r.EventSource),
		EventVersion:   aws.ToString(r.EventVersion),
		EventSourceArn: streamArn,
	}
	if out.EventSource == "" {
		out.EventSource = "aws:dynamodb"
	}
	if r.UserIdentity != nil {
		out.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(r.UserIdentity.Type), PrincipalID: aws.ToString(r.UserIdentity.PrincipalId)}
	}
	if c := r.Dynamodb; c != nil {
		out.Change = events.DynamoDBStreamRecord{
			Keys:           Image(c.Keys),
			NewImage:       Image(c.NewImage),
			OldImage:       Image(c.OldImage),
			SequenceNumber: aws.ToString(c.SequenceNumber),
			SizeBytes:      aws.ToInt64(c.SizeBytes),
			StreamViewType: string(c.StreamViewType),
		}
		if c.ApproximateCreationDateTime != nil {
			out.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *c.ApproximateCreationDateTime}
		}
	}
	out.EventName = eventName(out.EventName, out.Change)
	return out
}

// eventName keeps INSERT, MODIFY and REMOVE and maps any other name
// (DynamoDB Local's TTL deletions) to the one the images imply.
func eventName(name string, c events.DynamoDBStreamRecord) string {
	switch events.DynamoDBOperationType(name) {
	case events.DynamoDBOperationTypeInsert, events.DynamoDBOperationTypeModify, events.DynamoDBOperationTypeRemove:
		return name
	}
	switch {
	case c.NewImage != nil && c.OldImage != nil:
		return string(events.DynamoDBOperationTypeModify)
	case c.NewImage != nil:
		return string(events.DynamoDBOperationTypeInsert)
	default: // no new image, or keys only: the only other name DynamoDB Local writes is a TTL deletion
		return string(events.DynamoDBOperationTypeRemove)
	}
}

// Image converts a stream record's Keys, NewImage or OldImage. A nil map
// stays nil, as it is absent from Lambda's event.
func Image(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = AttributeValue(v)
	}
	return out
}

// AttributeValue converts one stream attribute value, of any type.
func AttributeValue(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberNULL:
		return events.NewNullAttribute()
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = AttributeValue(e)
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		m := make(map[string]events.DynamoDBAttributeValue, len(v.Value))
		for k, e := range v.Value {
			m[k] = AttributeValue(e)
		}
		return events.NewMapAttribute(m)
	}
	return events.NewNullAttribute() // an unknown member: nothing a handler could read
}
