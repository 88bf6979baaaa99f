package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

func (c *cli) segmentsList(ctx context.Context, out io.Writer) error {
	counts, err := c.store.SegmentCounts(ctx)
	if err != nil {
		return err
	}
	type row struct {
		Name  string `json:"name"`
		Count int64  `json:"count"`
	}
	rows := []row{}
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		rows = append(rows, row{name, counts[name]})
	}
	if c.json {
		return c.printJSON(out, rows)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEGMENT\tCUSTOMERS")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d\n", r.Name, r.Count)
	}
	return w.Flush()
}

func (c *cli) segmentsMembers(ctx context.Context, name, limit string, out io.Writer) error {
	n := 1000
	if limit != "" {
		v, err := strconv.Atoi(limit)
		if err != nil || v < 1 {
			return errUsage
		}
		n = v
	}
	members, count, err := c.store.SegmentMembers(ctx, name, n)
	if err != nil {
		return err
	}
	if members == nil {
		members = []string{}
	}
	if c.json {
		return c.printJSON(out, map[string]any{"segment": name, "count": count, "members": members})
	}
	fmt.Fprintf(out, "%s: %d customers\n", name, count)
	for _, m := range members {
		fmt.Fprintln(out, m)
	}
	return nil
}

// quality is the supervision report of the source guides, from the
// segment counts and the review queue: no profile is read, nothing
// decrypted.
type quality struct {
	Customers       int64            `json:"customers"`
	Completeness    map[string]int64 `json:"completeness"`     // high, medium, low
	ReviewDue       int64            `json:"review_due"`       // past their review date
	ConfirmedShare  float64          `json:"confirmed_share"`  // within policy: not review-due
	ConsentCoverage map[string]int64 `json:"consent_coverage"` // marketable, contactable
	AwaitingReview  map[string]int64 `json:"awaiting_review"`  // identity, values
	ValueClasses    map[string]int64 `json:"value_classes"`    // A, B, C, D
	Lifecycle       map[string]int64 `json:"lifecycle"`        // prospect, new, active, at-risk, lapsed
}

func (c *cli) reportQuality(ctx context.Context, out io.Writer) error {
	counts, err := c.store.SegmentCounts(ctx)
	if err != nil {
		return err
	}
	reviews, err := c.store.Reviews(ctx)
	if err != nil {
		return err
	}
	q := quality{Completeness: map[string]int64{}, ConsentCoverage: map[string]int64{}, AwaitingReview: map[string]int64{},
		ValueClasses: map[string]int64{}, Lifecycle: map[string]int64{}}
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
	for _, r := range reviews {
		q.AwaitingReview[r.Kind]++
	}
	if q.Customers > 0 {
		q.ConfirmedShare = float64(q.Customers-q.ReviewDue) / float64(q.Customers)
	}
	if c.json {
		return c.printJSON(out, q)
	}
	fmt.Fprintf(out, "customers %d\ncompleteness %v\nreview due %d (confirmed within policy %.0f%%)\nconsent coverage %v\nawaiting review %v\nvalue classes %v\nlifecycle %v\n",
		q.Customers, q.Completeness, q.ReviewDue, 100*q.ConfirmedShare, q.ConsentCoverage, q.AwaitingReview, q.ValueClasses, q.Lifecycle)
	return nil
}
