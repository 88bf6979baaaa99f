package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
)

// Without its configuration the function still starts and answers each
// Create with an error naming what is missing.
func TestHandlerWithoutConfiguration(t *testing.T) {
	h, err := handler(context.Background(), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
		t.Fatalf("err %v", err)
	}
	_, _, err = h(context.Background(), cfn.Event{RequestType: cfn.RequestCreate, RequestID: "r"})
	if err == nil || !strings.Contains(err.Error(), "KMS_KEY_BLIND_INDEX") {
		t.Fatalf("create answered %v", err)
	}
}
