package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/privacy"
	"github.com/kehu-dev/kehu/shared/record"
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

// customerErase erases a customer now (compliance): see privacy.Eraser.
func (c *cli) customerErase(ctx context.Context, id, reason string, out io.Writer) error {
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: say why with --reason (kept on the tombstone; no personal data)", errUsage)
	}
	actor, err := c.actor(ctx)
	if err != nil {
		return err
	}
	e := &privacy.Eraser{Store: c.store, Opener: envelope.NewOpener(c.kms), Actor: actor}
	err = e.Erase(ctx, id, reason, "operator")
	switch {
	case errors.Is(err, privacy.ErrNoCustomer):
		return fmt.Errorf("%w: no customer %s", errNotFound, id)
	case errors.Is(err, store.ErrErased):
		return fmt.Errorf("customer %s was erased before", id)
	case err != nil:
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]string{"customer_id": id, "state": store.Erased, "actor": actor})
	}
	fmt.Fprintf(out, "erased customer %s (by %s); its tombstone, stripped consent ledger and audit remain\n", id, actor)
	return nil
}

// customerRestrict restricts or lifts the restriction of a customer's processing.
func (c *cli) customerRestrict(ctx context.Context, id string, restricted bool, out io.Writer) error {
	actor, entry, err := c.actorAndEntry(ctx)
	if err != nil {
		return err
	}
	err = privacy.Restrict(ctx, c.store, id, restricted, actor, entry.String(), time.Now())
	if errors.Is(err, privacy.ErrNoCustomer) {
		return fmt.Errorf("%w: no customer %s", errNotFound, id)
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]any{"customer_id": id, "restricted": restricted, "entry": entry.String(), "actor": actor})
	}
	word := "restricted"
	if !restricted {
		word = "no longer restricted"
	}
	fmt.Fprintf(out, "customer %s is %s (recorded as %s by %s)\n", id, word, entry, actor)
	return nil
}

// withdrawalChannels are the ways a person may withdraw through an operator.
var withdrawalChannels = []string{"phone", "letter", "email", "in-person"}

// consentWithdraw records a withdrawal received by phone, letter, email or
// in person: a ledger entry naming the operator and the channel
// (operator-<channel>).
func (c *cli) consentWithdraw(ctx context.Context, id, purpose, channel string, out io.Writer) error {
	p := consent.Purpose(purpose)
	if !p.Valid() {
		return fmt.Errorf("%w: --purpose must be one of %v", errUsage, consent.Known)
	}
	if !slices.Contains(withdrawalChannels, channel) {
		return fmt.Errorf("%w: --channel must be one of %v", errUsage, withdrawalChannels)
	}
	// Only a purpose granted is withdrawn: recording one never granted
	// would change nothing for the person, and would move the retention
	// of a customer who has no purpose left.
	prof, err := c.store.Profile(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: no customer %s", errNotFound, id)
	}
	if err != nil {
		return err
	}
	if !prof.Consent[p].Granted {
		if c.json {
			return c.printJSON(out, map[string]string{"customer_id": id, "not_granted": purpose})
		}
		fmt.Fprintf(out, "customer %s has not granted %s (or withdrew it before): nothing recorded\n", id, purpose)
		return nil
	}
	actor, entry, err := c.actorAndEntry(ctx)
	if err != nil {
		return err
	}
	err = c.store.Withdraw(ctx, store.Withdrawal{CustomerID: id, EntryID: entry.String(), Purposes: []consent.Purpose{p}, Channel: "operator-" + channel,
		Trust: customer.Trusted, Actor: actor, At: time.Now()})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: no customer %s", errNotFound, id)
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]string{"customer_id": id, "withdrawn": purpose, "entry": entry.String(), "actor": actor})
	}
	fmt.Fprintf(out, "withdrew %s for customer %s (recorded as %s by %s)\n", purpose, id, entry, actor)
	return nil
}

// customerExport writes a customer's copy (JSON, or --html) to out or
// --out FILE, reading what these credentials may; it says which tiers it
// could not read.
func (c *cli) customerExport(ctx context.Context, id, path string, asHTML bool, out, errOut io.Writer) error {
	r, err := c.reader(ctx, "customer export")
	if err != nil {
		return err
	}
	x, err := r.Export(ctx, id)
	if errors.Is(err, record.ErrNoCustomer) {
		return fmt.Errorf("%w: no customer %s", errNotFound, id)
	}
	if err != nil {
		return err
	}
	var doc []byte
	if asHTML {
		page, err := privacy.HTML(x)
		if err != nil {
			return err
		}
		doc = []byte(page)
	} else if doc, err = json.MarshalIndent(x, "", "  "); err != nil {
		return err
	}
	if path != "" {
		if err := os.WriteFile(path, append(doc, '\n'), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote the export of %s to %s\n", id, path)
	} else if _, err := out.Write(append(doc, '\n')); err != nil {
		return err
	}
	if len(x.Unreadable) > 0 {
		fmt.Fprintf(errOut, "kehu: these credentials could not read the %s tier(s); those values are marked unreadable\n", strings.Join(x.Unreadable, ", "))
	}
	return nil
}

// requestsList lists the data-subject requests with their due dates
// (compliance): --open, those not answered yet; otherwise those made
// since a date (default: the last 35 days, the backups' window).
func (c *cli) requestsList(ctx context.Context, open bool, since string, out io.Writer) error {
	var rows []store.Request
	var err error
	if open {
		rows, err = c.store.OpenRequests(ctx)
	} else {
		from := time.Now().UTC().AddDate(0, 0, -35)
		if since != "" {
			if from, err = time.Parse(time.DateOnly, since); err != nil {
				return fmt.Errorf("%w: --since must be a date, YYYY-MM-DD", errUsage)
			}
		}
		rows, err = c.store.RequestsSince(ctx, from, time.Now().UTC())
	}
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []store.Request{}
	}
	if c.json {
		return c.printJSON(out, rows)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tCUSTOMER\tKIND\tCHANNEL\tSTATE\tCREATED\tDUE\tRUNS")
	for _, r := range rows {
		runs := ""
		if r.RunAt != nil {
			runs = r.RunAt.Format(time.DateOnly)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.CustomerID, r.Kind, r.Channel, r.State, r.CreatedAt.Format(time.DateOnly),
			r.DueAt.Format(time.DateOnly), runs)
	}
	return w.Flush()
}
