package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/kehu-dev/kehu/shared/segmenter"
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

func (c *cli) reportQuality(ctx context.Context, out io.Writer) error {
	q, err := segmenter.Report(ctx, c.store)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, q)
	}
	fmt.Fprintf(out, "customers %d\ncompleteness %v\nreview due %d (confirmed within policy %.0f%%)\nconsent coverage %v\nawaiting review %v\nvalue classes %v\nlifecycle %v\nduplicates prevented %v\n",
		q.Customers, q.Completeness, q.ReviewDue, 100*q.ConfirmedShare, q.ConsentCoverage, q.AwaitingReview, q.ValueClasses, q.Lifecycle, q.DuplicatesPrevented)
	return nil
}
