package httpapi

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/intake"
)

// Wiring builds a function's pipeline on first use, and again after a
// failure at most every RetryEvery. A function deployed before its
// configuration is complete (a missing variable, no blind-index secret
// yet, KMS unreachable at cold start) then answers 503 naming what is
// missing, instead of crash-looping, and recovers without a redeploy
// once the cause is gone.
type Wiring struct {
	Build      func(ctx context.Context) (*intake.Service, func() int64, error)
	RetryEvery time.Duration // default 10s

	mu   sync.Mutex
	svc  *intake.Service
	kms  func() int64
	err  error
	last time.Time
}

// Get returns the pipeline, or the error of the last attempt to build it.
func (w *Wiring) Get(ctx context.Context) (*intake.Service, func() int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.svc != nil {
		return w.svc, w.kms, nil
	}
	every := w.RetryEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	if w.err != nil && time.Since(w.last) < every {
		return nil, nil, w.err
	}
	w.last = time.Now()
	w.svc, w.kms, w.err = w.Build(ctx)
	if w.err != nil {
		w.svc = nil
	}
	return w.svc, w.kms, w.err
}

// NewWiring is the usual Build of a function's pipeline: an incomplete
// configuration (cfgErr) is answered as it is; otherwise the SDK's
// configuration and intake.Wire, with also (when set) building whatever
// else the function needs from the same SDK configuration.
func NewWiring(cfg config.Config, cfgErr error, log *slog.Logger, also func(awsCfg aws.Config)) *Wiring {
	return &Wiring{Build: func(ctx context.Context) (*intake.Service, func() int64, error) {
		if cfgErr != nil {
			return nil, nil, cfgErr
		}
		awsCfg, err := config.AWS(ctx)
		if err != nil {
			return nil, nil, err
		}
		svc, sealer, err := intake.Wire(ctx, cfg, awsCfg)
		if err != nil {
			log.Error("cannot start the pipeline; answering 503", "err", err)
			return nil, nil, err
		}
		if also != nil {
			also(awsCfg)
		}
		return svc, sealer.KMSCalls, nil
	}}
}
