package segmenter

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/store"
)

// Quality is the supervision report of the source guides, from the
// segment counts and the review queue: no profile is read, nothing
// decrypted.
type Quality struct {
	Customers       int64            `json:"customers"`
	Completeness    map[string]int64 `json:"completeness"`     // high, medium, low
	ReviewDue       int64            `json:"review_due"`       // past their review date
	ConfirmedShare  float64          `json:"confirmed_share"`  // within policy: not review-due
	ConsentCoverage map[string]int64 `json:"consent_coverage"` // marketable, contactable
	AwaitingReview  map[string]int64 `json:"awaiting_review"`  // identity, values
	ValueClasses    map[string]int64 `json:"value_classes"`    // A, B, C, D
	Lifecycle       map[string]int64 `json:"lifecycle"`        // prospect, new, active, at-risk, lapsed
	// DuplicatesPrevented counts, by channel, the submissions the blind
	// index matched to an existing customer instead of making a new one.
	DuplicatesPrevented map[string]int64 `json:"duplicates_prevented"`
}

// Report computes the quality figures.
func Report(ctx context.Context, st *store.Store) (*Quality, error) {
	all, err := st.Counts(ctx)
	if err != nil {
		return nil, err
	}
	counts := all.Segments
	reviews, err := st.ReviewKinds(ctx)
	if err != nil {
		return nil, err
	}
	q := &Quality{Completeness: map[string]int64{}, ConsentCoverage: map[string]int64{}, AwaitingReview: reviews,
		ValueClasses: map[string]int64{}, Lifecycle: map[string]int64{}, DuplicatesPrevented: all.Matched}
	for name, n := range counts {
		kind, value, _ := strings.Cut(name, ":")
		switch kind {
		case "lifecycle":
			q.Lifecycle[value] = n
			q.Customers += n // every profile has exactly one lifecycle
		case "completeness":
			q.Completeness[value] = n
		case "value":
			q.ValueClasses[value] = n
		case "review-due":
			q.ReviewDue = n
		case "marketable", "contactable":
			q.ConsentCoverage[kind] = n
		}
	}
	if q.Customers > 0 {
		q.ConfirmedShare = float64(q.Customers-q.ReviewDue) / float64(q.Customers)
	}
	return q, nil
}

// Emit writes the figures as one EMF line (namespace kehu).
func (q *Quality) Emit(m *metrics.Emitter) {
	m.Emit(map[string]string{"report": "quality"},
		metrics.Count{Name: "Customers", Value: float64(q.Customers)},
		metrics.Count{Name: "CompletenessHigh", Value: float64(q.Completeness["high"])},
		metrics.Count{Name: "CompletenessMedium", Value: float64(q.Completeness["medium"])},
		metrics.Count{Name: "CompletenessLow", Value: float64(q.Completeness["low"])},
		metrics.Count{Name: "ReviewDue", Value: float64(q.ReviewDue)},
		metrics.Count{Name: "ConfirmedShare", Value: q.ConfirmedShare, Unit: "None"},
		metrics.Count{Name: "Marketable", Value: float64(q.ConsentCoverage["marketable"])},
		metrics.Count{Name: "Contactable", Value: float64(q.ConsentCoverage["contactable"])},
		metrics.Count{Name: "IdentityReviews", Value: float64(q.AwaitingReview["identity"])},
		metrics.Count{Name: "ValueReviews", Value: float64(q.AwaitingReview["values"])})
	for _, ch := range slices.Sorted(maps.Keys(q.DuplicatesPrevented)) {
		m.Emit(map[string]string{"report": "quality", "channel": ch},
			metrics.Count{Name: "DuplicatesPrevented", Value: float64(q.DuplicatesPrevented[ch])})
	}
}
