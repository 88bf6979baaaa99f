package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kehu-dev/kehu/internal/admin"
	"github.com/kehu-dev/kehu/shared/blindindex"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/store"
)

type cli struct {
	table string
	store *store.Store
	kms   *kms.Client
}

func connect(ctx context.Context, table string, _ func(string) string) (*cli, error) {
	awsCfg, err := config.AWS(ctx)
	if err != nil {
		return nil, err
	}
	return &cli{table: table, store: store.New(config.DynamoDB(awsCfg), table), kms: config.KMS(awsCfg)}, nil
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
	return nil
}

func (c *cli) formsPut(ctx context.Context, path string, out io.Writer) error {
	def, err := admin.PutFormFile(ctx, c.store, path)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "stored form %s (%d fields, requires consent %v, notices %v)\n", def.ID, len(def.Fields), def.Consent.Required, def.Consent.Notices)
	return nil
}

func (c *cli) formsList(ctx context.Context, out io.Writer) error {
	defs, err := c.store.Forms(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tCHANNEL\tFIELDS\tREQUIRED CONSENT\tNOTICES")
	for _, d := range defs {
		fmt.Fprintf(w, "%s\t%s\t%d\t%v\t%v\n", d.ID, d.Channel, len(d.Fields), d.Consent.Required, d.Consent.Notices)
	}
	return w.Flush()
}

// fieldView is one field's value (if these credentials may read it) and
// its provenance.
type fieldView struct {
	store.Provenance
	Value      *string `json:"value,omitempty"`
	Unreadable string  `json:"unreadable,omitempty"`
	ReadBy     string  `json:"read_by"`
}

var readers = map[string]string{
	string(customer.Restricted):   "compliance role only",
	string(customer.Confidential): "sales and service roles",
	string(customer.General):      "analysts, the segmenter",
}

func (c *cli) customerShow(ctx context.Context, id string, asJSON bool, out io.Writer) error {
	p, err := c.store.Profile(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no customer %s", id)
	}
	if err != nil {
		return err
	}
	ledger, err := c.store.Ledger(ctx, id)
	if err != nil {
		return err
	}
	prov := store.FieldProvenance(p, ledger)
	opener := envelope.NewOpener(c.kms)
	var fields []fieldView
	for _, name := range slices.Sorted(maps.Keys(prov)) {
		v := fieldView{Provenance: prov[name], ReadBy: readers[prov[name].Tier]}
		if plain, ok := p.General[name]; ok {
			v.Value = &plain
		} else if blob, ok := p.Sealed[name]; ok {
			pt, err := opener.Open(ctx, envelope.AAD{Table: c.table, Customer: id, Attribute: "pii." + name, Tier: customer.Tier(v.Tier)}, blob, p.Keys)
			switch {
			case err == nil:
				s := string(pt)
				v.Value = &s
			case errors.Is(err, envelope.ErrDenied):
				v.Unreadable = "these credentials may not decrypt the " + v.Tier + " tier"
			default:
				v.Unreadable = "cannot decrypt: " + err.Error()
			}
		}
		fields = append(fields, v)
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"customer_id": id, "created_at": p.CreatedAt, "updated_at": p.UpdatedAt,
			"review_due_at": p.ReviewDueAt, "fields": fields, "consent": p.Consent, "consent_ledger": ledger})
	}
	fmt.Fprintf(out, "customer %s  created %s  updated %s  review due %s\n\n", id,
		p.CreatedAt.Format(time.RFC3339), p.UpdatedAt.Format(time.RFC3339), p.ReviewDueAt.Format(time.DateOnly))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FIELD\tVALUE\tTIER (READ BY)\tSOURCE\tCONSENT\tCONFIRMED")
	for _, f := range fields {
		val := f.Unreadable
		if f.Value != nil {
			val = *f.Value
		}
		fmt.Fprintf(w, "%s\t%s\t%s (%s)\t%s/%s %s\t%s %v\t%s\n", f.Field, val, f.Tier, f.ReadBy, f.Channel, f.FormID, f.SubmissionID, f.Notice, f.Purposes, f.ConfirmedAt.Format(time.DateOnly))
	}
	_ = w.Flush()
	fmt.Fprintln(out, "\nconsent:")
	for _, pp := range slices.Sorted(maps.Keys(p.Consent)) {
		s := p.Consent[pp]
		fmt.Fprintf(out, "  %-11s granted=%v notice=%s at %s\n", pp, s.Granted, s.Notice, s.At.Format(time.RFC3339))
	}
	fmt.Fprintf(out, "\nconsent ledger: %d entries\n", len(ledger))
	for _, e := range ledger {
		fmt.Fprintf(out, "  %s %s %v notice=%s %s/%s submission=%s fields=%v\n", e.At.Format(time.RFC3339), e.Action, e.Purposes, e.Notice, e.Channel, e.FormID, e.SubmissionID, e.Fields)
	}
	return nil
}

func (c *cli) customerFind(ctx context.Context, email, phone string, out io.Writer) error {
	wrapped, err := c.store.BlindIndexSecret(ctx)
	if err != nil {
		return fmt.Errorf("blind index secret: %w", err)
	}
	ix, err := blindindex.Unwrap(ctx, c.kms, "", c.table, wrapped)
	if err != nil {
		return err
	}
	var ref store.IndexRef
	if email != "" {
		e, err := customer.NormaliseEmail(email)
		if err != nil {
			return errors.New("--email is not an email address")
		}
		ref = store.IndexRef{Kind: string(blindindex.Email), Hash: ix.Hash(blindindex.Email, e)}
	} else {
		p, err := customer.NormalisePhone(phone, customer.DefaultRegion)
		if err != nil {
			return errors.New("--phone is not a phone number")
		}
		ref = store.IndexRef{Kind: string(blindindex.Phone), Hash: ix.Hash(blindindex.Phone, p)}
	}
	found, err := c.store.Lookup(ctx, ref)
	if err != nil {
		return err
	}
	id, ok := found[ref]
	if !ok {
		return errors.New("no customer found")
	}
	fmt.Fprintln(out, id)
	return nil
}

func (c *cli) reviewList(ctx context.Context, out io.Writer) error {
	reviews, err := c.store.IdentityReviews(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AT\tSUBMISSION\tATTACHED TO\tALSO MATCHED")
	for _, r := range reviews {
		fmt.Fprintf(w, "%s\t%s\t%s\t%v\n", r.At.Format(time.RFC3339), r.SubmissionID, r.CustomerID, r.AlsoMatched)
	}
	return w.Flush()
}
