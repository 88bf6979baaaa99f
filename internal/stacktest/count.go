package stacktest

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Calls counts the AWS requests made through a configuration and the time
// spent waiting for them, per service ("kms", "dynamodb").
type Calls struct {
	mu    sync.Mutex
	count map[string]int
	spent map[string]time.Duration
	next  aws.HTTPClient
}

// Count returns the requests made to a service so far.
func (c *Calls) Count(service string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count[service]
}

// Spent returns the time spent in requests to all services.
func (c *Calls) Spent() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d time.Duration
	for _, v := range c.spent {
		d += v
	}
	return d
}

// Reset zeroes the counters.
func (c *Calls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count, c.spent = map[string]int{}, map[string]time.Duration{}
}

// Do implements aws.HTTPClient.
func (c *Calls) Do(r *http.Request) (*http.Response, error) {
	service := "other"
	switch t := r.Header.Get("X-Amz-Target"); {
	case strings.HasPrefix(t, "TrentService."):
		service = "kms"
	case strings.HasPrefix(t, "DynamoDB_"):
		service = "dynamodb"
	}
	start := time.Now()
	resp, err := c.next.Do(r)
	c.mu.Lock()
	c.count[service]++
	c.spent[service] += time.Since(start)
	c.mu.Unlock()
	return resp, err
}

// Counted returns the principal's configuration with every request counted.
func (s *Stack) Counted(t testing.TB, principal string) (aws.Config, *Calls) {
	cfg := s.AWS(t, principal)
	c := &Calls{next: awshttp.NewBuildableClient()}
	c.Reset()
	cfg.HTTPClient = c
	return cfg, c
}
