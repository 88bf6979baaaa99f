package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/kehu-dev/kehu/internal/admin"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/mail"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/sender"
	"github.com/kehu-dev/kehu/shared/store"
)

func (c *cli) surveysPut(ctx context.Context, path string, out io.Writer) error {
	def, err := admin.PutSurveyFile(ctx, c.store, path)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]any{"id": def.ID, "fields": len(def.Fields)})
	}
	fmt.Fprintf(out, "stored survey %s (%d fields, offers consent %v, notices %v)\n", def.ID, len(def.Fields),
		append(def.Consent.Required, def.Consent.Optional...), def.Consent.Notices)
	return nil
}

func (c *cli) surveysList(ctx context.Context, out io.Writer) error {
	defs, err := c.store.Surveys(ctx)
	if err != nil {
		return err
	}
	if c.json {
		type row struct {
			ID     string   `json:"id"`
			Fields []string `json:"fields"`
			Offers []string `json:"consent"`
		}
		rows := []row{}
		for _, d := range defs {
			r := row{ID: d.ID, Fields: []string{}, Offers: []string{}}
			for _, f := range d.Fields {
				r.Fields = append(r.Fields, f.Name)
			}
			for _, p := range append(d.Consent.Required, d.Consent.Optional...) {
				r.Offers = append(r.Offers, string(p))
			}
			rows = append(rows, r)
		}
		return c.printJSON(out, rows)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tFIELDS\tCONSENT OFFERED\tNOTICES")
	for _, d := range defs {
		fmt.Fprintf(w, "%s\t%d\t%v\t%v\n", d.ID, len(d.Fields), append(d.Consent.Required, d.Consent.Optional...), d.Consent.Notices)
	}
	return w.Flush()
}

// surveysSend runs the sender once, now, with the same code as the Lambda
// and these credentials (locally: LOCALSENDER), through SMTP at
// KEHU_SMTP_ADDR (default 127.0.0.1:1025, Mailpit), links to
// KEHU_PUBLIC_URL (default http://127.0.0.1:3000).
func (c *cli) surveysSend(ctx context.Context, dryRun bool, getenv func(string) string, out io.Writer) error {
	key := getenv("KMS_KEY_BLIND_INDEX")
	if key == "" {
		key = "alias/kehu-blind-index"
	}
	set := sender.Defaults()
	if v := getenv("KEHU_PUBLIC_URL"); v != "" {
		set.PublicURL = v
	}
	if v := getenv("KEHU_SENDER_FROM"); v != "" {
		set.From = v
	}
	addr := getenv("KEHU_SMTP_ADDR")
	if addr == "" {
		addr = "127.0.0.1:1025"
	}
	cfg := config.New(c.table, "", "", key)
	s, err := sender.Wire(ctx, cfg, c.awsCfg, set, mail.SMTP{Addr: addr}, slog.New(slog.DiscardHandler), metrics.New(io.Discard, "kehu"))
	if err != nil {
		return err
	}
	if s.Actor, err = c.actor(ctx); err != nil {
		return err
	}
	res, err := s.Run(ctx, dryRun)
	if c.json {
		if perr := c.printJSON(out, res); perr != nil {
			return perr
		}
		return err
	}
	verb := "sent"
	if dryRun {
		verb = "would send"
	}
	fmt.Fprintf(out, "%s %d survey emails and %d address confirmations; %d failed; skipped %v\n", verb, res.Sent, res.Confirmations, res.Failed, res.Skipped)
	return err
}

// customerRequestReview makes a customer due for the update survey now:
// the next sender run emails them once, the interval notwithstanding.
func (c *cli) customerRequestReview(ctx context.Context, id string, out io.Writer) error {
	actor, entry, err := c.actorAndEntry(ctx)
	if err != nil {
		return err
	}
	err = c.store.RequestReview(ctx, id, actor, entry.String(), time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: no customer %s", errNotFound, id)
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]string{"customer_id": id, "entry": entry.String(), "actor": actor})
	}
	fmt.Fprintf(out, "customer %s is due for the update survey now (recorded as %s by %s); the next sender run emails them once\n", id, entry, actor)
	return nil
}
