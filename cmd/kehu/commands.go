package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/uuid"

	"github.com/kehu-dev/kehu/internal/admin"
	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/record"
	"github.com/kehu-dev/kehu/shared/store"
)

type cli struct {
	table   string
	store   *store.Store
	kms     *kms.Client
	awsCfg  aws.Config
	json    bool
	purpose string // --purpose: what a read is for, in its audit record
	errOut  io.Writer
}

var errNotFound = errors.New("not found")

func connect(ctx context.Context, table string, _ func(string) string) (*cli, error) {
	awsCfg, err := config.AWS(ctx)
	if err != nil {
		return nil, err
	}
	return &cli{table: table, store: store.New(config.DynamoDB(awsCfg), table), kms: config.KMS(awsCfg), awsCfg: awsCfg}, nil
}

func (c *cli) printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// reader reads customers as whoever runs the CLI, for the purpose given
// (--purpose; by default the command's): every decryption is audited.
func (c *cli) reader(ctx context.Context, command string) (*record.Reader, error) {
	actor, err := c.actor(ctx)
	if err != nil {
		return nil, err
	}
	purpose := c.purpose
	if purpose == "" {
		purpose = "operator: kehu " + command
	}
	return &record.Reader{Store: c.store, Opener: envelope.NewOpener(c.kms), Actor: actor, Purpose: purpose}, nil
}

func (c *cli) setup(ctx context.Context, keyID string, out io.Writer) error {
	if keyID == "" {
		return errors.New("set KMS_KEY_BLIND_INDEX to the blind index key (the stack output BlindIndexKeyArn)")
	}
	created, err := admin.EnsureBlindIndexSecret(ctx, c.kms, c.store, keyID)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(out, "created the blind index secret of %s, wrapped under %s\n", c.table, keyID)
	} else {
		fmt.Fprintf(out, "%s already has a blind index secret; left as it is\n", c.table)
	}
	created, err = admin.EnsureLinkSecret(ctx, c.kms, c.store, keyID)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(out, "created the link secret of %s, wrapped under %s\n", c.table, keyID)
	}
	return nil
}

func (c *cli) formsPut(ctx context.Context, path string, out io.Writer) error {
	def, err := admin.PutFormFile(ctx, c.store, path)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]any{"id": def.ID, "fields": len(def.Fields)})
	}
	fmt.Fprintf(out, "stored form %s (%d fields, requires consent %v, notices %v)\n", def.ID, len(def.Fields), def.Consent.Required, def.Consent.Notices)
	return nil
}

func (c *cli) formsList(ctx context.Context, out io.Writer) error {
	defs, err := c.store.Forms(ctx)
	if err != nil {
		return err
	}
	if c.json {
		type row struct {
			ID      string `json:"id"`
			Channel string `json:"channel"`
			Fields  int    `json:"fields"`
		}
		rows := []row{}
		for _, d := range defs {
			rows = append(rows, row{d.ID, d.Channel, len(d.Fields)})
		}
		return c.printJSON(out, rows)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tCHANNEL\tFIELDS\tREQUIRED CONSENT\tNOTICES")
	for _, d := range defs {
		fmt.Fprintf(w, "%s\t%s\t%d\t%v\t%v\n", d.ID, d.Channel, len(d.Fields), d.Consent.Required, d.Consent.Notices)
	}
	return w.Flush()
}

func text(v record.Value) string {
	if v.Text != nil {
		return *v.Text
	}
	return "(" + v.Unreadable + ")"
}

func (c *cli) customerShow(ctx context.Context, id string, out io.Writer) error {
	r, err := c.reader(ctx, "customer show")
	if err != nil {
		return err
	}
	rec, err := r.Read(ctx, id)
	if errors.Is(err, record.ErrNoCustomer) {
		return fmt.Errorf("%w: no customer %s", errNotFound, id)
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(out, rec)
	}
	fmt.Fprintf(out, "customer %s  created %s  updated %s  review due %s", id,
		rec.CreatedAt.Format(time.RFC3339), rec.UpdatedAt.Format(time.RFC3339), rec.ReviewDueAt.Format(time.DateOnly))
	if rec.AgeBand != "" {
		fmt.Fprintf(out, "  age band %s", rec.AgeBand)
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "IDENTIFIER\tVALUE\tSTATUS\tTRUST\tSOURCE")
	for _, x := range rec.Identifiers {
		status := []string{}
		for _, s := range []struct {
			on   bool
			word string
		}{{x.Verified, "verified"}, {!x.Verified, "unverified"}, {x.Confirmable && !x.Verified, "confirmable"}, {!x.Indexed, "held by another customer"}} {
			if s.on {
				status = append(status, s.word)
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s/%s %s\n", x.Kind, text(x.Value), strings.Join(status, ", "), x.Trust, x.Channel, x.FormID, x.SubmissionID)
	}
	_ = w.Flush()
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FIELD\tVALUE\tTIER (READ BY)\tTRUST\tSOURCE\tBASIS / CONSENT\tCOLLECTED\tCONFIRMED")
	for _, f := range rec.Fields {
		fmt.Fprintf(w, "%s\t%s\t%s (%s)\t%s\t%s/%s %s\t%s %s %v\t%s\t%s\n", f.Field, text(f.Value), f.Tier, f.ReadBy, f.Trust, f.Channel, f.FormID,
			f.SubmissionID, f.Basis, f.Notice, f.Purposes, f.CollectedAt.Format(time.DateOnly), f.ConfirmedAt.Format(time.DateOnly))
	}
	_ = w.Flush()
	if len(rec.Interactions) > 0 {
		fmt.Fprintf(out, "\ninteractions: %d, newest first\n", len(rec.Interactions))
		for _, in := range rec.Interactions {
			t := in.Unreadable
			if in.Text != nil {
				t = *in.Text
			}
			fmt.Fprintf(out, "  %s %s %s/%s %s: %s\n", in.At.Format(time.RFC3339), in.Direction, in.Provider, in.Source, in.Conversation, t)
		}
	}
	if len(rec.Segments) > 0 {
		fmt.Fprintf(out, "\nsegments: %s\n", strings.Join(rec.Segments, " "))
	}
	fmt.Fprintln(out, "\nconsent:")
	for _, p := range sortedPurposes(rec) {
		s := rec.Consent[p]
		fmt.Fprintf(out, "  %-11s granted=%v notice=%s at %s\n", p, s.Granted, s.Notice, s.At.Format(time.RFC3339))
	}
	fmt.Fprintf(out, "\nledger: %d entries\n", len(rec.Ledger))
	for _, e := range rec.Ledger {
		if e.Entity == store.EntityRestore {
			fmt.Fprintf(out, "  %s restore %s to submission %s by %s\n", e.At.Format(time.RFC3339), e.RestoredField, e.RestoredFrom, e.Actor)
			continue
		}
		fmt.Fprintf(out, "  %s %s %s %v notice=%s %s/%s trust=%s submission=%s fields=%v", e.At.Format(time.RFC3339), e.Action, e.Basis, e.Purposes,
			e.Notice, e.Channel, e.FormID, e.Trust, e.SubmissionID, e.Fields)
		if len(e.Held) > 0 {
			fmt.Fprintf(out, " held=%v", e.Held)
		}
		if len(e.IdentityReview) > 0 {
			fmt.Fprintf(out, " also-matched=%v", e.IdentityReview)
		}
		fmt.Fprintln(out)
	}
	return nil
}

func (c *cli) customerHistory(ctx context.Context, id string, out io.Writer) error {
	r, err := c.reader(ctx, "customer history")
	if err != nil {
		return err
	}
	rows, err := r.History(ctx, id)
	if errors.Is(err, record.ErrNoCustomer) {
		return fmt.Errorf("%w: no customer %s", errNotFound, id)
	}
	if err != nil {
		return err
	}
	if c.json {
		if rows == nil {
			rows = []record.HistoryRow{}
		}
		return c.printJSON(out, rows)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FIELD\tVALUE\tSUBMISSION\tCHANNEL\tAT\t")
	for _, r := range rows {
		mark := ""
		if r.Current {
			mark = "current"
		}
		if r.Held {
			mark = "held for review"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Field, text(r.Value), r.SubmissionID, r.Channel, r.At.Format(time.RFC3339), mark)
	}
	return w.Flush()
}

func (c *cli) customerRestore(ctx context.Context, id, field, from string, out io.Writer) error {
	ix, err := c.intakeIndex(ctx)
	if err != nil {
		return err
	}
	actor, entry, err := c.actorAndEntry(ctx)
	if err != nil {
		return err
	}
	r, err := c.reader(ctx, "customer restore")
	if err != nil {
		return err
	}
	err = r.Restore(ctx, ix, id, field, from, actor, time.Now(), entry.String())
	switch {
	case errors.Is(err, record.ErrNoCustomer):
		return fmt.Errorf("%w: no customer %s", errNotFound, id)
	case errors.Is(err, store.ErrConflict):
		return errors.New("the customer changed while restoring; run the command again")
	case err != nil:
		return err
	}
	if c.json {
		return c.printJSON(out, map[string]string{"customer_id": id, "field": field, "restored_from": from, "entry": entry.String(), "actor": actor})
	}
	fmt.Fprintf(out, "restored %s of %s to its value from submission %s (recorded as %s by %s)\n", field, id, from, entry, actor)
	return nil
}

// actor names who runs the CLI, for the ledger: the IAM principal's ARN in
// AWS; locally (no STS), the access key id of the local credential.
func (c *cli) actor(ctx context.Context) (string, error) {
	if config.Local("kms") || config.Local("dynamodb") {
		creds, err := c.awsCfg.Credentials.Retrieve(ctx)
		if err != nil {
			return "", err
		}
		return "local:" + creds.AccessKeyID, nil
	}
	id, err := sts.NewFromConfig(c.awsCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("who am I (sts): %w", err)
	}
	return aws.ToString(id.Arn), nil
}

// actorAndEntry names who acts (for the ledger) and a new entry id.
func (c *cli) actorAndEntry(ctx context.Context) (string, uuid.UUID, error) {
	actor, err := c.actor(ctx)
	if err != nil {
		return "", uuid.UUID{}, err
	}
	entry, err := uuid.NewV7()
	return actor, entry, err
}

func (c *cli) index(ctx context.Context) (*blindindex.Index, error) {
	wrapped, err := c.store.BlindIndexSecret(ctx)
	if err != nil {
		return nil, fmt.Errorf("blind index secret: %w", err)
	}
	return blindindex.Unwrap(ctx, c.kms, os.Getenv(config.EnvBlindIndexKey), c.table, wrapped)
}

// intakeIndex unwraps the intake keys (compliance): restore fingerprints
// the value it makes current.
func (c *cli) intakeIndex(ctx context.Context) (*blindindex.Index, error) {
	wrapped, err := c.store.IntakeKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("intake keys: %w", err)
	}
	return blindindex.UnwrapIntake(ctx, c.kms, os.Getenv(config.EnvBlindIndexKey), c.table, wrapped)
}

func (c *cli) customerFind(ctx context.Context, email, phone string, out io.Writer) error {
	ix, err := c.index(ctx)
	if err != nil {
		return err
	}
	var ref store.IndexRef
	if email != "" {
		e, err := customer.NormaliseEmail(email)
		if err != nil {
			return errors.New("--email is not an email address")
		}
		ref = store.IndexRef{Kind: customer.IdentityEmail, Hash: ix.Identity(customer.IdentityEmail, e)}
	} else {
		p, err := customer.NormalisePhone(phone, customer.DefaultRegion)
		if err != nil {
			return errors.New("--phone is not a phone number")
		}
		ref = store.IndexRef{Kind: customer.IdentityPhone, Hash: ix.Identity(customer.IdentityPhone, p)}
	}
	found, err := c.store.Lookup(ctx, ref)
	if err != nil {
		return err
	}
	id, ok := found[ref]
	if !ok {
		return fmt.Errorf("%w: no customer found", errNotFound)
	}
	if c.json {
		return c.printJSON(out, map[string]string{"customer_id": id})
	}
	fmt.Fprintln(out, id)
	return nil
}

func (c *cli) reviewList(ctx context.Context, out io.Writer) error {
	reviews, err := c.store.Reviews(ctx)
	if err != nil {
		return err
	}
	if c.json {
		if reviews == nil {
			reviews = []store.Review{}
		}
		return c.printJSON(out, reviews)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AT\tKIND\tSUBMISSION\tWRITTEN TO\tALSO MATCHED\tHELD FIELDS")
	for _, r := range reviews {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%v\n", r.At.Format(time.RFC3339), r.Kind, r.SubmissionID, r.CustomerID, r.AlsoMatched, r.Fields)
	}
	return w.Flush()
}

func sortedPurposes(rec *record.Record) []consent.Purpose {
	return slices.Sorted(maps.Keys(rec.Consent))
}
