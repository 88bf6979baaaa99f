package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kehu-dev/kehu/shared/store"
)

// audit prints who read a customer's personal data: when, which fields of
// which tiers, for what (compliance).
func (c *cli) audit(ctx context.Context, id string, out io.Writer) error {
	recs, err := c.store.Audit(ctx, id)
	if err != nil {
		return err
	}
	if c.json {
		if recs == nil {
			recs = []store.AuditRecord{}
		}
		return c.printJSON(out, recs)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AT\tACTOR\tACTION\tFIELDS\tTIERS\tPURPOSE")
	for _, r := range recs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.At.Format(time.RFC3339), r.Actor, r.Action, strings.Join(r.Fields, ","), strings.Join(r.Tiers, ","), r.Purpose)
	}
	return w.Flush()
}
