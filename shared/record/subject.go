package record

import (
	"slices"
	"strings"

	"github.com/kehu-dev/kehu/shared/customer"
)

// Withheld marks a value of the person's own copy that may be someone
// else's (Export.ForSubject).
const Withheld = "withheld: it came from a form or message anyone could send, with none of your verified contact details"

// SubjectNote says, on the person's own copy, what it leaves out and why.
const SubjectNote = "This copy leaves out what would disclose other people (GDPR Art. 15(4), PIPL Art. 45): contact details " +
	"another customer holds, the other customers a submission also matched, and who our operators are (their role instead). " +
	"Values from forms or messages anyone could send, with none of your verified contact details, are withheld; " +
	"ask us and we will go through them with you."

// ForSubject is the copy as the person receives it themself (the privacy
// page's download), without what would disclose other people (GDPR
// Art. 15(4)); an operator's export keeps everything. It returns a new
// Export (x is not changed):
//
//   - identifiers another customer holds (kept here unindexed, not
//     awaiting the person's own confirmation) are left out, with every
//     history row of their values;
//   - ledger entries name no other customer (identity_review), and an
//     operator only by role: the role of an assumed-role ARN, otherwise
//     "operator";
//   - a value, message or history row from an asserted submission (a form
//     or message anyone could send) is withheld unless that submission
//     carried one of the person's verified identifiers (the address their
//     links go to) or the value is one shown anyway; what came proven (the
//     person's own link) or trusted (an operator, the company's systems)
//     is shown.
func (x *Export) ForSubject() *Export {
	if x == nil {
		return nil
	}
	out := *x
	out.Unreadable = slices.Clone(x.Unreadable)
	out.History = []HistoryRow{}
	if x.Record == nil {
		return &out
	}
	rec := *x.Record
	out.Record = &rec
	withheld := 0

	type at struct{ field, submission string }
	trust := map[string]customer.Trust{}
	for _, e := range x.Record.Ledger {
		trust[e.SubmissionID] = e.Trust
	}
	vouched := func(t customer.Trust) bool { return t == customer.Proven || t == customer.Trusted }
	fieldOf := func(k customer.IdentityKind) string {
		spec, _ := customer.IdentityOfKind(k)
		return spec.Field
	}
	others := map[at]bool{}      // identifiers another customer holds
	othersVal := map[at]bool{}   // their values: {field, value}
	verifiedVal := map[at]bool{} // the person's verified identifiers: {field, value}
	own := map[string]bool{}     // asserted submissions that carried one of them
	for _, id := range x.Record.Identifiers {
		f := fieldOf(id.Kind)
		switch {
		case !id.Indexed && !id.Confirmable:
			others[at{f, id.SubmissionID}] = true
			if id.Text != nil {
				othersVal[at{f, *id.Text}] = true
			}
		case id.Verified:
			own[id.SubmissionID] = true
			if id.Text != nil {
				verifiedVal[at{f, *id.Text}] = true
			}
		}
	}
	for _, r := range x.History {
		if _, isID := customer.IdentityOfField(r.Field); isID && r.Text != nil && verifiedVal[at{r.Field, *r.Text}] {
			own[r.SubmissionID] = true
		}
	}
	mine := func(submission string) bool { return vouched(trust[submission]) || own[submission] }
	shown := map[at]bool{} // values shown in full: {field, value}

	rec.Fields = make([]Field, 0, len(x.Record.Fields))
	for _, f := range x.Record.Fields {
		if f.Text != nil && !vouched(f.Trust) && !mine(f.SubmissionID) {
			f.Value, withheld = Value{Unreadable: Withheld}, withheld+1
		}
		if f.Text != nil {
			shown[at{f.Field, *f.Text}] = true
		}
		rec.Fields = append(rec.Fields, f)
	}
	rec.Identifiers = []Identifier{}
	for _, id := range x.Record.Identifiers {
		f := fieldOf(id.Kind)
		if others[at{f, id.SubmissionID}] {
			withheld++
			continue
		}
		if id.Text != nil && !id.Verified && !vouched(id.Trust) && !mine(id.SubmissionID) {
			id.Value, withheld = Value{Unreadable: Withheld}, withheld+1
		}
		if id.Text != nil {
			shown[at{f, *id.Text}] = true
		}
		rec.Identifiers = append(rec.Identifiers, id)
	}
	rec.Interactions = make([]Interaction, 0, len(x.Record.Interactions))
	for _, in := range x.Record.Interactions {
		if !mine(in.SubmissionID) && (in.Text != nil || len(in.Attachments) > 0) {
			in.Text, in.Attachments, in.Unreadable = nil, nil, Withheld
			withheld++
		}
		rec.Interactions = append(rec.Interactions, in)
	}
	for _, r := range x.History {
		isShown := r.Text != nil && shown[at{r.Field, *r.Text}]
		if others[at{r.Field, r.SubmissionID}] || (r.Text != nil && othersVal[at{r.Field, *r.Text}] && !isShown) {
			withheld++
			continue
		}
		if r.Text != nil && !isShown && !mine(r.SubmissionID) {
			r.Value, withheld = Value{Unreadable: Withheld}, withheld+1
		}
		out.History = append(out.History, r)
	}
	rec.Ledger = make([]LedgerView, 0, len(x.Record.Ledger))
	for _, e := range x.Record.Ledger {
		if len(e.IdentityReview) > 0 {
			e.IdentityReview, withheld = nil, withheld+1
		}
		e.Actor = roleOf(e.Actor)
		if e.Interaction != nil && !mine(e.SubmissionID) {
			// Someone else's message: what it said and attached is
			// withheld above; its ledger entry keeps no trace of it.
			e.Interaction, withheld = nil, withheld+1
		}
		rec.Ledger = append(rec.Ledger, e)
	}
	if withheld > 0 {
		out.Withheld = SubjectNote
	}
	return &out
}

// roleOf names an operator by role only: the role of an assumed-role ARN
// (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), otherwise "operator".
func roleOf(actor string) string {
	if actor == "" {
		return ""
	}
	if _, rest, ok := strings.Cut(actor, ":assumed-role/"); ok {
		if role, _, _ := strings.Cut(rest, "/"); role != "" {
			return role
		}
	}
	return "operator"
}
