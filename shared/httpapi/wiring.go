package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/intake"
)

// Wiring builds a function's pipeline on first use, and again after a
// failure at most every 10 s (buildDeps). A function deployed before its
// configuration is complete (a missing variable, no blind-index secret
// yet, KMS unreachable at cold start) then answers 503 naming what is
// missing, instead of crash-looping, and recovers without a redeploy
// once the cause is gone.
type Wiring struct {
	Build func(ctx context.Context) (*intake.Service, func() int64, error)

	built buildOnce
	wired *wired
}

type wired struct {
	svc *intake.Service
	kms func() int64
}

// Get returns the pipeline, or the error of the last attempt to build it.
func (w *Wiring) Get(ctx context.Context) (*intake.Service, func() int64, error) {
	d, err := buildDeps(ctx, &w.built, &w.wired, func(ctx context.Context) (*wired, error) {
		svc, kms, err := w.Build(ctx)
		if err != nil {
			return nil, err
		}
		return &wired{svc, kms}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return d.svc, d.kms, nil
}

// buildOnce remembers a failed build of a function's dependencies.
type buildOnce struct {
	mu   sync.Mutex
	err  error
	last time.Time
}

// buildDeps builds a function's dependencies on first use, and again after
// a failure at most every 10 s: a function deployed before its
// configuration is complete answers 503 naming what is missing, and
// recovers without a redeploy. The intake functions' Wiring and the link
// pages' dependencies are built by it.
func buildDeps[T any](ctx context.Context, b *buildOnce, deps **T, build func(context.Context) (*T, error)) (*T, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if *deps != nil {
		return *deps, nil
	}
	if build == nil {
		return nil, errors.New("no dependencies to build")
	}
	if b.err != nil && time.Since(b.last) < 10*time.Second {
		return nil, b.err
	}
	b.last = time.Now()
	d, err := build(ctx)
	if err != nil {
		b.err = err
		return nil, err
	}
	*deps, b.err = d, nil
	return d, nil
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
