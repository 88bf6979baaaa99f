// Package sender is the update-survey sender: on a schedule it selects the
// customers in the review-due segment who may be contacted, and emails
// each a signed link to their update survey, at most once per interval.
// A customer whose address is not verified yet gets one confirmation
// email instead (double opt-in). It decrypts the confidential tier only:
// the address to send to, and the values it shows masked.
package sender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/envelope"
	"github.com/kehu-dev/kehu/shared/link"
	"github.com/kehu-dev/kehu/shared/mail"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/store"
)

// Opener decrypts values (envelope.Opener).
type Opener interface {
	Open(ctx context.Context, aad envelope.AAD, blob []byte, keys map[string][]byte) ([]byte, error)
}

// Settings are the sender's knobs, with defaults in Defaults.
type Settings struct {
	Survey    string        // the survey sent (default "update")
	Interval  time.Duration // at most one survey email per customer per interval (30 days)
	MaxPerRun int           // emails per run (500)
	SurveyTTL time.Duration // how long a survey link works (14 days)
	OptOutTTL time.Duration // how long a withdrawal link works (90 days)
	From      string        // the sending identity, e.g. "kehu <no-reply@example.com>"
	PublicURL string        // where the links point, e.g. https://api.example.com
}

// Defaults are the documented defaults.
func Defaults() Settings {
	return Settings{Survey: "update", Interval: 30 * 24 * time.Hour, MaxPerRun: 500, SurveyTTL: 14 * 24 * time.Hour,
		OptOutTTL: 90 * 24 * time.Hour, From: "kehu <no-reply@kehu.local>", PublicURL: "http://127.0.0.1:3000"}
}

// Sender runs the loop.
type Sender struct {
	Store    *store.Store
	Opener   Opener
	Links    *link.Keys
	Mail     mail.Sender
	Settings Settings
	Now      func() time.Time
	Log      *slog.Logger
	Metrics  *metrics.Emitter
	// Actor names the sender in the audit of what it decrypts (the
	// function's name in AWS, the credential locally).
	Actor string
}

// Result counts a run: emails sent (survey and confirmation) and customers
// skipped, by reason.
type Result struct {
	Sent          int `json:"sent"`
	Confirmations int `json:"confirmations"`
	Failed        int `json:"failed"`
	Uncertain     int `json:"uncertain,omitempty"` // a mail service that could not say whether it sent: not retried
	// Notices: customers with no purpose left told their data goes a
	// week on (the privacy sweep erases them only once told).
	Notices int            `json:"notices"`
	Skipped map[string]int `json:"skipped"`
	DryRun  bool           `json:"dry_run,omitempty"`
}

// Skip reasons.
const (
	SkipGone         = "gone"                  // erased since it was listed
	SkipRestricted   = "restricted"            // processing restricted
	SkipChild        = "child"                 // a child's data is restricted
	SkipNoConsent    = "no-contact-consent"    // contact not granted, or withdrawn
	SkipNotDue       = "not-due"               // confirmed since (the segment lags the profile)
	SkipNoAddress    = "no-verified-address"   // nothing verified, nothing to confirm
	SkipAwaiting     = "awaiting-confirmation" // no verified address; confirmations asked, not due again yet
	SkipInterval     = "interval"              // emailed within the interval, or another run is on it
	SkipCap          = "run-cap"               // beyond this run's cap
	SkipNoSurvey     = "survey-not-found"
	reviewDueSegment = "review-due"
)

// Run sends this run's emails. dryRun counts what would be sent and
// writes and sends nothing.
func (s *Sender) Run(ctx context.Context, dryRun bool) (Result, error) {
	res := Result{Skipped: map[string]int{}, DryRun: dryRun}
	// The survey the emails link must exist.
	_, err := s.Store.Survey(ctx, s.Settings.Survey)
	if errors.Is(err, store.ErrNotFound) {
		return res, fmt.Errorf("survey %q is not defined (kehu surveys put)", s.Settings.Survey)
	}
	if err != nil {
		return res, err
	}
	var firstErr error
	err = s.Store.EachMember(ctx, reviewDueSegment, func(id string) bool {
		if res.Sent+res.Confirmations >= s.Settings.MaxPerRun {
			res.Skipped[SkipCap]++ // the rest waits for the next run
			return false
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 30*time.Second {
			res.Skipped[SkipCap]++ // the function's time is nearly up: no send may be cut off
			return false
		}
		o, err := s.one(ctx, id, dryRun)
		res.Sent, res.Confirmations, res.Failed, res.Uncertain = res.Sent+o.sent, res.Confirmations+o.confirmations, res.Failed+o.failed, res.Uncertain+o.uncertain
		switch {
		case err != nil:
			res.Failed++
			s.Log.ErrorContext(ctx, "survey email failed", "err", err.Error())
			if firstErr == nil && (errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)) {
				firstErr = err // the table is down: stop this run
				return false
			}
		case o.skip != "":
			res.Skipped[o.skip]++
		}
		return ctx.Err() == nil
	})
	if err == nil {
		err = firstErr
	}
	if err == nil {
		err = s.noPurposeNotices(ctx, dryRun, &res)
	}
	counts := []metrics.Count{{Name: "SurveyEmails", Value: float64(res.Sent)}, {Name: "ConfirmationEmails", Value: float64(res.Confirmations)}}
	for reason, n := range res.Skipped {
		counts = append(counts, metrics.Count{Name: "Skipped" + metricName(reason), Value: float64(n)})
	}
	if !dryRun {
		s.Metrics.Emit(map[string]string{"outcome": "run"}, counts...)
		if res.Failed > 0 {
			// Under {function, outcome=error}, which the alarm watches.
			s.Metrics.Emit(map[string]string{"outcome": "error", "reason": "send"}, metrics.Count{Name: "SurveyEmailFailures", Value: float64(res.Failed)})
		}
	}
	return res, err
}

// AddedNoticeLead is how long after telling the address on file that
// another address was added that one is asked to confirm.
const AddedNoticeLead = 24 * time.Hour

// NoPurposeNoticeEvery is how long after the notice to a customer with no
// purpose left the privacy sweep erases them (once per last withdrawal).
const NoPurposeNoticeEvery = 7 * 24 * time.Hour

// noPurposeNotices tells the customers in retention-lapsed who have no
// purpose left (every consent withdrawn, by whatever way) that their data
// goes a week on unless they grant a purpose again: the privacy sweep
// erases them only once this notice went out (a forwarded link's holder
// cannot erase someone unnoticed). A child's address (restricted) is not
// the sender's to read: no notice, so no such erasure (retention applies).
func (s *Sender) noPurposeNotices(ctx context.Context, dryRun bool, res *Result) error {
	var ids []string
	if err := s.Store.EachMember(ctx, segment.RetentionLapsed, func(id string) bool { ids = append(ids, id); return true }); err != nil {
		return err
	}
	now := s.Now().UTC()
	for _, id := range ids {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 30*time.Second {
			return nil
		}
		p, err := s.Store.Profile(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			if errors.Is(err, store.ErrUnavailable) {
				return err
			}
			s.Log.ErrorContext(ctx, "a no-purpose notice failed", "err", err.Error())
			res.Failed++
			continue
		}
		rules := segmenter.Rules(p)
		if _, ok := segment.NoPurposeLapse(rules, segment.Defaults()); !ok || p.Restricted || p.Child() {
			continue
		}
		addr := VerifiedAddress(p)
		if addr == "" {
			continue
		}
		// Once per last withdrawal: due when the last notice went out
		// before it (not again and again, or the sweep's week after the
		// notice would never come).
		r, err := s.send(ctx, p, SendNoPurpose, "", addr, dryRun, now, max(now.Sub(rules.WithdrawnAt), time.Second))
		if err != nil {
			if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			s.Log.ErrorContext(ctx, "a no-purpose notice failed", "err", err.Error())
			res.Failed++
			continue
		}
		switch r {
		case sentOK:
			res.Notices++
		case sendFailed:
			res.Failed++
		case sendUncertain:
			res.Uncertain++
		}
	}
	return nil
}

// VerifiedAddress is the key of a customer's first verified, indexed
// email address ("" if none): where kehu's emails go.
func VerifiedAddress(p *store.Profile) string {
	for _, k := range p.IdentifiersOf(customer.IdentityEmail) {
		if x := p.IDs[k]; x.Indexed && x.Verified {
			return k
		}
	}
	return ""
}

func metricName(reason string) string {
	var b strings.Builder
	for _, part := range strings.Split(reason, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// outcome is what happened to one customer in a run.
type outcome struct {
	sent, confirmations, failed, uncertain int
	skip                                   string
}

// one handles one review-due customer: a confirmation email to each of
// its addresses still to be confirmed (double opt-in, at most a few times,
// once per link lifetime), and the period's survey email to a verified one.
func (s *Sender) one(ctx context.Context, id string, dryRun bool) (outcome, error) {
	now := s.Now().UTC()
	p, err := s.Store.Profile(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return outcome{skip: SkipGone}, nil
	}
	if err != nil {
		return outcome{}, err
	}
	switch {
	case p.Restricted:
		return outcome{skip: SkipRestricted}, nil
	case p.Child():
		return outcome{skip: SkipChild}, nil // a child's data is restricted: not the sender's to read
	case !p.Consent[consent.Contact].Granted:
		return outcome{skip: SkipNoConsent}, nil
	case p.ReviewDueAt.After(now):
		return outcome{skip: SkipNotDue}, nil
	}
	// Where to: a verified email address of the customer's own; the
	// confirmable ones not verified yet are asked to confirm.
	var verified string
	var pending []string
	for _, k := range p.IdentifiersOf(customer.IdentityEmail) {
		x := p.IDs[k]
		switch {
		case x.Indexed && x.Verified && verified == "":
			verified = k
		case x.Confirmable && !x.Verified:
			pending = append(pending, k)
		}
	}
	var o outcome
	for _, k := range pending {
		// An address added beside a verified one: the address on file is
		// told first (someone holding a forwarded link may have added
		// theirs), and the new one is asked to confirm only a day after
		// that notice went out.
		if verified != "" {
			r, err := s.send(ctx, p, SendAddressAdded, k, verified, dryRun, now)
			if err != nil {
				return o, err
			}
			if r != notDue {
				continue // just told (or failed): the confirmation waits its day
			}
			n, err := s.Store.Send(ctx, p.CustomerID, SendAddressAdded, k)
			if errors.Is(err, store.ErrNotFound) || err == nil && (n.SentAt == nil || n.Outcome == store.SendFailed || n.SentAt.After(now.Add(-AddedNoticeLead))) {
				continue
			}
			if err != nil {
				return o, err
			}
		}
		r, err := s.send(ctx, p, store.SendConfirm, p.IDs[k].Submission, k, dryRun, now)
		if err != nil {
			return o, err
		}
		o.add(r, &o.confirmations)
	}
	if verified != "" {
		r, err := s.send(ctx, p, store.SendSurvey, "", verified, dryRun, now)
		if err != nil {
			return o, err
		}
		o.add(r, &o.sent)
	}
	if o.sent+o.confirmations+o.failed+o.uncertain == 0 && o.skip == "" {
		switch {
		case verified == "" && len(pending) == 0:
			o.skip = SkipNoAddress
		case verified == "":
			o.skip = SkipAwaiting
		default:
			o.skip = SkipInterval
		}
	}
	return o, nil
}

func (o *outcome) add(r sendResult, count *int) {
	switch r {
	case sentOK:
		*count++
	case sendFailed:
		o.failed++
	case sendUncertain:
		o.uncertain++
	}
}

type sendResult int

const (
	notDue sendResult = iota
	sentOK
	sendFailed
	sendUncertain
)

// send claims, composes and sends one email of kind to the address addrKey.
// The claim comes first: from it a crash leaves the record "sending" and
// the email is not sent again before its interval (at most once). A mail
// service's definite refusal is recorded failed (retried on a later run);
// an outcome it cannot tell (a timeout after the message may have left) is
// recorded uncertain, which is not retried before the interval.
func (s *Sender) send(ctx context.Context, p *store.Profile, kind, subject, addrKey string, dryRun bool, now time.Time, every ...time.Duration) (sendResult, error) {
	interval, tries := s.Settings.Interval, 0
	switch kind {
	case store.SendConfirm, SendAddressAdded:
		// Again once the link has expired, at most ConfirmTries times.
		interval, tries = s.Settings.SurveyTTL, ConfirmTries
	}
	if len(every) == 1 {
		interval = every[0]
	}
	if dryRun {
		if r, err := s.Store.Send(ctx, p.CustomerID, kind, subject); err == nil && !due(r, interval, tries, now) {
			return notDue, nil
		}
		return sentOK, nil
	}
	err := s.Store.ClaimSend(ctx, p.CustomerID, kind, subject, s.Settings.Survey, interval, tries, now)
	if errors.Is(err, store.ErrNotDue) {
		return notDue, nil
	}
	if err != nil {
		return notDue, err
	}
	result := sendFailed
	defer func() {
		state := map[sendResult]string{sentOK: store.SendSent, sendFailed: store.SendFailed, sendUncertain: store.SendUncertain}[result]
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.Store.FinishSend(fctx, p.CustomerID, kind, subject, state); err != nil {
			s.Log.ErrorContext(ctx, "recording a send's outcome failed", "kind", kind, "err", err.Error())
		}
	}()
	values, err := s.read(ctx, p, addrKey, "update survey: the address to email and the values it shows masked")
	if err != nil {
		return result, err
	}
	to := values["email"]
	if to == "" {
		return result, nil
	}
	if kind == SendAddressAdded { // subject: the key of the address being confirmed, shown masked
		added, err := s.read(ctx, p, subject, "address added: the new address, shown masked to the address on file")
		if err != nil {
			return result, err
		}
		values["added"] = added["email"]
	}
	msg, err := s.compose(p, kind, subject, addrKey, values, now)
	if err != nil {
		return result, err
	}
	msg.To = to
	raw, err := msg.Bytes()
	if err != nil {
		return result, err
	}
	if err := s.Mail.Send(ctx, msg.From, to, raw); err != nil {
		// The mail service's text may name the recipient: only its kind
		// is logged.
		if errors.Is(err, mail.ErrUncertain) {
			result = sendUncertain
		}
		s.Log.WarnContext(ctx, "an email did not go out", "kind", kind, "uncertain", result == sendUncertain, "cause", mail.Cause(err))
		return result, nil
	}
	result = sentOK
	return result, nil
}

// ConfirmTries is how many confirmation emails an address gets at most
// (one per link lifetime) before kehu stops asking.
const ConfirmTries = 3

// due mirrors ClaimSend's condition, for a dry run.
func due(r *store.SendRecord, interval time.Duration, tries int, now time.Time) bool {
	if r.Outcome == store.SendFailed || r.SentAt == nil {
		return true
	}
	if tries > 0 && r.Tries >= tries {
		return false
	}
	return !r.SentAt.After(now.Add(-interval)) || r.RequestedAt != nil
}

// read decrypts what the email needs: the address (the identifier addrKey)
// and the customer's phone, to show masked. Confidential tier only. The
// read is audited with purpose.
func (s *Sender) read(ctx context.Context, p *store.Profile, addrKey, purpose string) (map[string]string, error) {
	addr := p.IDs[addrKey]
	want := map[string]string{"email": addr.Submission}
	// A phone is shown (masked) only if it came with this address or from
	// the customer or a trusted system: one an anonymous post added could
	// be someone else's, and the email must not show its digits to
	// whoever holds this address.
	for _, k := range p.IdentifiersOf(customer.IdentityPhone) {
		if x := p.IDs[k]; x.Indexed && (x.Submission == addr.Submission || x.Trust != customer.Asserted) {
			want["phone"] = x.Submission
			break
		}
	}
	out := map[string]string{}
	for field, sub := range want {
		e, err := s.Store.Entry(ctx, p.CustomerID, sub)
		if err != nil {
			return nil, fmt.Errorf("entry of %s: %w", field, err)
		}
		blob, ok := e.Sealed[field]
		if !ok {
			continue
		}
		tier, ref, _, _, err := envelope.Parse(blob)
		if err != nil || tier != customer.Confidential {
			continue // a child's values are restricted: not the sender's to read
		}
		keys, err := s.Store.DataKeys(ctx, []string{ref})
		if err != nil {
			return nil, err
		}
		pt, err := s.Opener.Open(ctx, envelope.AAD{Table: s.Store.Table(), Customer: p.CustomerID,
			Attribute: store.ValueAttribute(sub, field), Tier: tier}, blob, keys)
		if err != nil {
			if field == "email" {
				return nil, fmt.Errorf("open the address: %w", err)
			}
			continue
		}
		out[field] = string(pt)
	}
	// Audited before anything decrypted is used: no record, no email.
	if len(out) > 0 {
		rec := store.AuditRecord{CustomerID: p.CustomerID, Actor: s.Actor, Purpose: purpose,
			Action: "send", Tiers: []string{string(customer.Confidential)}, At: s.Now().UTC()}
		for f := range out {
			rec.Fields = append(rec.Fields, f)
		}
		slices.Sort(rec.Fields)
		if rec.Actor == "" {
			rec.Actor = "survey-sender"
		}
		if err := s.Store.PutAudit(ctx, rec); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// compose writes the email: bilingual unless the customer's locale is
// known, the values on file masked, what they are used for, the link, and
// the one-click withdrawal of contact (a link, and RFC 8058 headers).
//
// Its privacy-page link is bound to the address it goes to (addrKey):
// the page acts for that address, and every later email it causes goes
// there.
func (s *Sender) compose(p *store.Profile, kind, subject, addrKey string, values map[string]string, now time.Time) (mail.Message, error) {
	var action string
	var err error
	expires := now.Add(s.Settings.SurveyTTL)
	switch kind {
	case SendCopy:
		action, expires = subject, now.Add(DownloadTTL) // the download link, made by the caller
	case SendErasure:
		action = subject // the date the erasure runs, made by the caller
	case SendNoPurpose:
		action = subject // the earliest day the data goes, from the caller; the sender's own: a week on
		if action == "" {
			action = now.Add(NoPurposeNoticeEvery).Format("2006-01-02")
		}
	case SendAddressAdded:
		// No action of its own: the privacy page's link (below) is it.
	case store.SendConfirm:
		var tok string
		tok, _, err = s.Links.Sign(link.Claims{Purpose: link.Confirm, Customer: p.CustomerID, Subject: "email:" + subject,
			Expires: now.Add(s.Settings.SurveyTTL).Unix()})
		action = s.url("/v1/confirm", tok)
	default:
		var tok string
		tok, _, err = s.Links.Sign(link.Claims{Purpose: link.Survey, Customer: p.CustomerID, Subject: s.Settings.Survey,
			Expires: now.Add(s.Settings.SurveyTTL).Unix()})
		action = s.url("/v1/surveys/"+s.Settings.Survey, tok)
	}
	if err != nil {
		return mail.Message{}, err
	}
	optOut, _, err := s.Links.Sign(link.Claims{Purpose: link.Withdraw, Customer: p.CustomerID, Subject: string(consent.Contact),
		Expires: now.Add(s.Settings.OptOutTTL).Unix()})
	if err != nil {
		return mail.Message{}, err
	}
	unsub := s.url("/v1/unsubscribe", optOut)
	// Every email to a verified address links the person's privacy page.
	privacy := ""
	if kind != store.SendConfirm {
		tok, _, err := s.Links.Sign(link.Claims{Purpose: link.Privacy, Customer: p.CustomerID, Subject: PrivacySubject(addrKey), Expires: now.Add(PrivacyTTL).Unix()})
		if err != nil {
			return mail.Message{}, err
		}
		privacy = s.url("/v1/privacy", tok)
	}
	var fields []string
	for name := range p.Fields {
		fields = append(fields, name)
	}
	slices.Sort(fields)
	d := emailData{Kind: kind, Action: action, Unsubscribe: unsub, Privacy: privacy, Fields: fields,
		MaskedEmail: mail.Mask("email", values["email"]), MaskedPhone: mail.Mask("phone", values["phone"]), HasPhone: values["phone"] != "",
		MaskedAdded: mail.Mask("email", values["added"]),
		Expires:     expires.Format("2006-01-02 15:04 UTC")}
	d.Langs = langs(p.General["locale"])
	text, html, subjectLine, err := render(d)
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{From: s.Settings.From, Subject: subjectLine, Text: text, HTML: html, Date: now,
		Headers: map[string]string{"List-Unsubscribe": "<" + unsub + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}, nil
}

// SendCopy is the kind of the email that brings a person's copy (its
// download link), SendErasure the one that says an erasure is scheduled;
// PrivacyTTL and DownloadTTL how long the privacy-page and download links
// work.
const (
	SendCopy    = "copy"
	SendErasure = "erasure"
	// SendNoPurpose says every purpose was withdrawn: the data is erased
	// on a date unless one is granted again.
	SendNoPurpose = "no-purpose"
	// SendAddressAdded tells the verified address that another address
	// was added and is being asked to confirm (at most once per
	// confirmation sent).
	SendAddressAdded = "added"
	PrivacyTTL       = 30 * 24 * time.Hour
	DownloadTTL      = 24 * time.Hour
)

// PrivacySubject is the subject of a privacy-page link sent to the
// address addrKey; PrivacyAddress reads it back.
func PrivacySubject(addrKey string) string { return "page:" + addrKey }

// PrivacyAddress is the address key a privacy-page link was sent to.
func PrivacyAddress(subject string) (string, bool) {
	k, ok := strings.CutPrefix(subject, "page:")
	return k, ok && k != ""
}

// ErrNoVerifiedAddress means the address a link was sent to is no longer a
// verified one of the customer's: nothing is sent.
var ErrNoVerifiedAddress = errors.New("the address is not a verified one of the customer's")

// Notify emails the address addrKey (the one the person's privacy link
// was sent to, still verified and indexed to them) a message of kind
// SendCopy (action: the download link, signed by the caller),
// SendErasure or SendNoPurpose (action: the date the erasure runs), with the privacy
// page's link: the address is read (audited) for it. A mail service's
// error is returned by its kind only (its text may name the recipient).
func (s *Sender) Notify(ctx context.Context, customerID, addrKey, kind, action string) error {
	p, err := s.Store.Profile(ctx, customerID)
	if err != nil {
		return err
	}
	if x, ok := p.IDs[addrKey]; !ok || !x.Indexed || !x.Verified {
		return ErrNoVerifiedAddress
	}
	purpose := map[string]string{SendCopy: "the person's copy: the address to email its link", SendErasure: "erasure scheduled: the address to tell",
		SendNoPurpose: "every purpose withdrawn: the address to tell"}[kind]
	values, err := s.read(ctx, p, addrKey, purpose)
	if err != nil {
		return err
	}
	if values["email"] == "" {
		return ErrNoVerifiedAddress
	}
	msg, err := s.compose(p, kind, action, addrKey, values, s.Now().UTC())
	if err != nil {
		return err
	}
	msg.To = values["email"]
	raw, err := msg.Bytes()
	if err != nil {
		return err
	}
	if err := s.Mail.Send(ctx, msg.From, msg.To, raw); err != nil {
		if errors.Is(err, mail.ErrUncertain) {
			return fmt.Errorf("%s email: %w (%s)", kind, mail.ErrUncertain, mail.Cause(err))
		}
		return fmt.Errorf("%s email not sent: %s", kind, mail.Cause(err))
	}
	return nil
}

func (s *Sender) url(path, token string) string {
	return strings.TrimRight(s.Settings.PublicURL, "/") + path + "?t=" + url.QueryEscape(token)
}

// langs is the languages an email is written in: the customer's where
// known, both otherwise (Chinese first).
func langs(locale string) []string {
	switch l := strings.ToLower(locale); {
	case strings.HasPrefix(l, "zh"):
		return []string{"zh"}
	case strings.HasPrefix(l, "en"):
		return []string{"en"}
	default:
		return []string{"zh", "en"}
	}
}
