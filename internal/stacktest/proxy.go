package stacktest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/store"
)

// Proxy sits between a test's DynamoDB client and DynamoDB Local and
// injects faults by operation: a stall, an answer lost after the request
// was applied, a hook run as a request arrives.
type Proxy struct {
	URL   string
	mu    sync.Mutex
	rules []*Fault
	seen  map[string]int
	stop  chan struct{}
}

// Fault is what the proxy does to the next Times requests of Op
// ("PutItem", "TransactWriteItems", …; "" for any).
type Fault struct {
	Op    string
	Times int // 0: every time
	// Stall holds the request this long (or until the client gives up)
	// before forwarding it.
	Stall time.Duration
	// LoseAnswer forwards the request, so DynamoDB applies it, and then
	// answers 500 as if the answer was lost on the way back.
	LoseAnswer bool
	// Arrive runs when a matching request arrives, before it is forwarded.
	Arrive func()
	used   int
}

// Proxy starts a fault-injecting proxy in front of the stack's DynamoDB.
func (s *Stack) Proxy(t testing.TB) *Proxy {
	t.Helper()
	upstream := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")
	p := &Proxy{seen: map[string]int{}, stop: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
		f := p.match(op)
		if f != nil && f.Arrive != nil {
			f.Arrive()
		}
		if f != nil && f.Stall > 0 {
			select {
			case <-time.After(f.Stall):
			case <-r.Context().Done():
				return
			case <-p.stop:
				return
			}
		}
		body, _ := io.ReadAll(r.Body)
		req, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, upstream+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if f != nil && f.LoseAnswer {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answer lost (test proxy)"}`)
			return
		}
		for k, vs := range resp.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(p.stop) }) // runs first: stalled requests end
	p.URL = srv.URL
	return p
}

func (p *Proxy) match(op string) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[op]++
	for _, f := range p.rules {
		if (f.Op == "" || f.Op == op) && (f.Times == 0 || f.used < f.Times) {
			f.used++
			return f
		}
	}
	return nil
}

// Add installs a fault.
func (p *Proxy) Add(f *Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, f)
}

// Clear removes every fault.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Seen returns how many requests of op went through.
func (p *Proxy) Seen(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[op]
}

// Store returns a store for the stack's table whose DynamoDB calls go
// through the proxy, signed as principal.
func (p *Proxy) Store(t testing.TB, s *Stack, principal string) *store.Store {
	t.Helper()
	cfg := s.AWS(t, principal)
	db := dynamodb.New(config.DynamoDB(cfg).Options(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(p.URL) })
	return store.New(db, s.Table)
}
