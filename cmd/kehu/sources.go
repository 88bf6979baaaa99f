package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/source"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

// keyFor returns a key id from the environment, or on the local stack the
// local alias of that key.
// localSecretsAlias is the local stack's key for sources' secrets
// (internal/localkms.SecretsAlias).
const localSecretsAlias = "alias/kehu-secrets"

func keyFor(getenv func(string) string, env, localAlias string) (string, error) {
	if v := getenv(env); v != "" {
		return v, nil
	}
	if config.Local("kms") {
		return localAlias, nil
	}
	return "", fmt.Errorf("set %s to the key's ARN (a stack output)", env)
}

func (c *cli) sourcesPut(ctx context.Context, path string, getenv func(string) string, out io.Writer) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	def, err := source.Parse(doc)
	if err != nil {
		return err
	}
	keyID, err := keyFor(getenv, config.EnvSecretsKey, localSecretsAlias)
	if err != nil {
		return err
	}
	if err := source.Save(ctx, c.store, c.kms, keyID, def, time.Now()); err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]string{"id": def.ID, "provider": string(def.Provider), "kind": def.Kind})
	}
	fmt.Fprintf(out, "stored source %s (%s, %s, basis %s, notice %s)\n", def.ID, def.Provider, def.Kind, def.Basis, def.Notice)
	return nil
}

func (c *cli) sourcesList(ctx context.Context, out io.Writer) error {
	recs, err := c.store.Sources(ctx)
	if err != nil {
		return err
	}
	type row struct {
		ID       string `json:"id"`
		Provider string `json:"provider"`
		Kind     string `json:"kind"`
		Secrets  int    `json:"secrets"`
	}
	rows := []row{}
	for _, r := range recs {
		def, n, err := source.Read(ctx, c.store, r.ID)
		if err != nil {
			return err
		}
		rows = append(rows, row{def.ID, string(def.Provider), def.Kind, n})
	}
	if c.json {
		return c.printJSON(out, rows)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPROVIDER\tKIND\tACTIVE SECRETS")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", r.ID, r.Provider, r.Kind, r.Secrets)
	}
	return w.Flush()
}

func (c *cli) sourcesSecretAdd(ctx context.Context, id string, in io.Reader, getenv func(string) string, out io.Writer) error {
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	secret := strings.TrimSpace(line)
	if secret == "" {
		return errors.New("give the new secret on standard input")
	}
	keyID, err := keyFor(getenv, config.EnvSecretsKey, localSecretsAlias)
	if err != nil {
		return err
	}
	n, err := source.AddSecret(ctx, c.store, c.kms, keyID, id, secret, time.Now())
	if errors.Is(err, source.ErrNotFound) {
		return fmt.Errorf("%w: no source %s", errNotFound, id)
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]any{"id": id, "secrets": n})
	}
	fmt.Fprintf(out, "source %s now accepts %d secrets (this one is number %d); it takes effect within a minute\n", id, n, n)
	return nil
}

func (c *cli) sourcesSecretRemove(ctx context.Context, id, nth string, out io.Writer) error {
	n, err := strconv.Atoi(nth)
	if err != nil {
		return errUsage
	}
	err = source.RemoveSecret(ctx, c.store, id, n, time.Now())
	if errors.Is(err, source.ErrNotFound) {
		return fmt.Errorf("%w: no source %s", errNotFound, id)
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]any{"id": id, "removed": n})
	}
	fmt.Fprintf(out, "removed secret %d of source %s; it stops being accepted within a minute\n", n, id)
	return nil
}

func (c *cli) quarantineList(ctx context.Context, out io.Writer) error {
	qs, err := c.store.Quarantine(ctx)
	if err != nil {
		return err
	}
	if c.json {
		if qs == nil {
			qs = []store.Quarantined{}
		}
		return c.printJSON(out, qs)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tAT\tSOURCE\tPROVIDER\tREASON\tREPLAYED AS")
	for _, q := range qs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", q.ID, q.At.Format(time.RFC3339), q.Source, q.Provider, q.Reason, q.ReplayedAs)
	}
	return w.Flush()
}

// quarantined reads one quarantined payload, still sealed.
func (c *cli) quarantined(ctx context.Context, id string) (*store.Quarantined, error) {
	q, err := c.store.QuarantinedPayload(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: nothing quarantined as %s", errNotFound, id)
	}
	return q, err
}

// quarantineRead says who opens a quarantined payload, and for what
// (--purpose; by default the command's), for its audit record.
func (c *cli) quarantineRead(ctx context.Context, command string) (record.QuarantineRead, error) {
	r, err := c.reader(ctx, command)
	if err != nil {
		return record.QuarantineRead{}, err
	}
	return record.QuarantineRead{Actor: r.Actor, Purpose: r.Purpose, Action: command}, nil
}

// openQuarantined decrypts a quarantined payload: audited first.
func (c *cli) openQuarantined(ctx context.Context, q *store.Quarantined, by record.QuarantineRead) ([]byte, error) {
	return record.OpenQuarantined(ctx, c.store, envelope.NewOpener(c.kms), q, by)
}

func (c *cli) quarantineShow(ctx context.Context, id string, out io.Writer) error {
	q, err := c.quarantined(ctx, id)
	if err != nil {
		return err
	}
	by, err := c.quarantineRead(ctx, "quarantine show")
	if err != nil {
		return err
	}
	payload, err := c.openQuarantined(ctx, q, by)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]any{"id": q.ID, "source": q.Source, "provider": q.Provider, "reason": q.Reason, "at": q.At,
			"size": q.Size, "replayed_as": q.ReplayedAs, "payload": string(payload)})
	}
	fmt.Fprintf(out, "%s  %s  source %s (%s)  %d bytes\nreason: %s\n", q.ID, q.At.Format(time.RFC3339), q.Source, q.Provider, q.Size, q.Reason)
	if q.ReplayedAs != "" {
		fmt.Fprintf(out, "replayed as submission %s of customer %s\n", q.ReplayedAs, q.ReplayedFor)
	}
	if payload != nil {
		fmt.Fprintf(out, "\n%s\n", payload)
	}
	return nil
}

// quarantineReplay maps a quarantined payload again with the source's
// current definition and runs it through the intake pipeline, as the
// operator (compliance: it decrypts the payload and seals what it
// writes). A replay is taken once: its delivery mark names the
// quarantined payload. The payload is decrypted only once the source may
// take it; its opening is audited (AUDIT#quarantine), and the replay is
// also recorded on the audit of the customer it went to.
func (c *cli) quarantineReplay(ctx context.Context, id string, getenv func(string) string, out io.Writer) error {
	q, err := c.quarantined(ctx, id)
	if err != nil {
		return err
	}
	if len(q.Payload) == 0 {
		return errors.New("this payload was not kept (too large, or replayed already)")
	}
	def, _, err := source.Read(ctx, c.store, q.Source)
	if err != nil {
		return err
	}
	// A payload is mapped only as what it came as: a chat event of the
	// same provider. An order is sent again by its order system.
	if def.Kind != source.KindChat || string(def.Provider) != q.Provider {
		return fmt.Errorf("source %s is now a %s %s source; this payload came from %s: drop it instead", def.ID, def.Provider, def.Kind, q.Provider)
	}
	by, err := c.quarantineRead(ctx, "quarantine replay")
	if err != nil {
		return err
	}
	payload, err := c.openQuarantined(ctx, q, by)
	if err != nil {
		return err
	}
	f, err := def.Form()
	if err != nil {
		return err
	}
	ev, err := webhook.Map(def.Provider, payload, def.Map)
	if err != nil {
		return fmt.Errorf("still cannot be used: %w", err)
	}
	if ev.Ignore || ev.Challenge != "" {
		return errors.New("the source's mapping now ignores this event: drop it instead")
	}
	svc, err := c.pipeline(ctx, getenv)
	if err != nil {
		return err
	}
	sub := httpapi.EventSubmission(ctx, *def, f, "", nil, ev, svc.Index.Request("replay\x00"+q.ID), "", "kehu quarantine replay")
	if !httpapi.HasIdentifier(sub.Fields) {
		return errors.New("still cannot be used: the event names no email, phone or user id")
	}
	res, err := svc.Submit(ctx, f, sub)
	if errors.Is(err, store.ErrDuplicate) {
		return errors.New("replayed before")
	}
	if err != nil {
		return fmt.Errorf("still cannot be used: %w", err)
	}
	if err := c.store.MarkReplayed(ctx, q.ID, res.SubmissionID, res.CustomerID); err != nil {
		return err
	}
	if err := record.AuditReplay(ctx, c.store, by, q.ID, res.CustomerID); err != nil {
		return fmt.Errorf("replayed %s as submission %s of customer %s, but its audit on the customer: %w", q.ID, res.SubmissionID, res.CustomerID, err)
	}
	if c.json {
		return c.printJSON(out, map[string]any{"id": q.ID, "submission_id": res.SubmissionID, "customer_id": res.CustomerID, "new_customer": res.NewCustomer})
	}
	fmt.Fprintf(out, "replayed %s as submission %s of customer %s\n", q.ID, res.SubmissionID, res.CustomerID)
	return nil
}

func (c *cli) quarantineDrop(ctx context.Context, id string, out io.Writer) error {
	err := c.store.DropQuarantined(ctx, id)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: nothing quarantined as %s", errNotFound, id)
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]string{"id": id, "dropped": "true"})
	}
	fmt.Fprintf(out, "dropped %s\n", id)
	return nil
}

// pipeline wires the intake pipeline with the CLI's credentials.
func (c *cli) pipeline(ctx context.Context, getenv func(string) string) (*intake.Service, error) {
	cfg := config.New(c.table, "alias/kehu-confidential", "alias/kehu-restricted", "alias/kehu-blind-index") // the local stack's aliases
	for env, into := range map[string]*string{config.EnvConfidentialKey: &cfg.ConfidentialKey, config.EnvRestrictedKey: &cfg.RestrictedKey,
		config.EnvBlindIndexKey: &cfg.BlindIndexKey} {
		v, err := keyFor(getenv, env, *into)
		if err != nil {
			return nil, err
		}
		*into = v
	}
	svc, _, err := intake.Wire(ctx, cfg, c.awsCfg)
	return svc, err
}
