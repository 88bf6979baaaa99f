package intake

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/store"
)

// The trust rules as a pure function: no table, no keys. Fingerprints are
// the plain "customer/field/value" so cases read easily.
func fp(customerID, field, value string) string { return customerID + "/" + field + "/" + value }

var (
	email1 = store.IndexRef{Kind: customer.IdentityEmail, Hash: "E1"}
	email2 = store.IndexRef{Kind: customer.IdentityEmail, Hash: "E2"}
	phone1 = store.IndexRef{Kind: customer.IdentityPhone, Hash: "P1"}
)

func profile(id string, mod func(*store.Profile)) *store.Profile {
	p := &store.Profile{CustomerID: id, Version: 3, Fields: map[string]store.FieldRef{}, IDs: map[string]store.Identifier{},
		Consent: map[consent.Purpose]consent.State{}}
	if mod != nil {
		mod(p)
	}
	return p
}

func creator() store.Identifier {
	return store.Identifier{Indexed: true, Confirmable: true, Trust: customer.Asserted}
}

func sub(trust customer.Trust, ids []store.IndexRef, fields map[string]string) write {
	w := write{def: &form.Definition{ID: "f", Channel: "web-form"}, trust: trust, subID: "S", now: time.Unix(1_800_000_000, 0), facts: facts{ids: ids, age: -1},
		granted: []consent.Purpose{consent.Processing}, notice: "n"}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range fields {
			if !yield(k) {
				return
			}
		}
	}) {
		spec, _ := customer.Lookup(name)
		w.facts.fields = append(w.facts.fields, fieldFact{name: name, tier: spec.Tier, value: fields[name]})
	}
	return w
}

func TestDecide(t *testing.T) {
	victim := profile("C", func(p *store.Profile) {
		p.IDs[email1.Key()], p.IDs[phone1.Key()] = creator(), creator()
		p.Fields["name"] = store.FieldRef{Submission: "S0", Trust: customer.Asserted, Fingerprint: fp("C", "name", "Wang")}
	})
	cases := []struct {
		name   string
		w      write
		owners map[store.IndexRef]string
		heads  map[string]*store.Profile
		check  func(t *testing.T, p plan)
	}{
		{"takeover: same phone, another email → a customer of its own, nothing of C changes",
			sub(customer.Asserted, []store.IndexRef{email2, phone1}, map[string]string{"name": "Mallory"}),
			map[store.IndexRef]string{phone1: "C"}, map[string]*store.Profile{"C": victim},
			func(t *testing.T, p plan) {
				c := p.commit
				if !c.NewCustomer || c.CustomerID != "N" || !slices.Equal(p.alsoMatched, []string{"C"}) || c.Review == nil || c.Review.Kind != store.ReviewIdentity {
					t.Fatalf("%+v", p)
				}
				if c.Matched != nil {
					t.Errorf("a new customer prevented no duplicate: %v", c.Matched)
				}
				if x := c.IDs[phone1.Key()]; x.Indexed || x.Confirmable || x.Verified {
					t.Errorf("C's phone on the new customer: %+v", x)
				}
				if !slices.Equal(c.IndexPut, []store.IndexRef{email2}) {
					t.Errorf("index puts %v", c.IndexPut)
				}
				// The review says which of C's identifiers came (an erasure
				// of C removes them from this submission).
				if !maps.EqualFunc(c.Review.MatchedKeys, map[string][]string{"C": {phone1.Key()}}, slices.Equal) {
					t.Errorf("matched keys %v", c.Review.MatchedKeys)
				}
			}},
		{"a returning asserted post replaces an asserted value and adds nothing it may not",
			sub(customer.Asserted, []store.IndexRef{email1}, map[string]string{"name": "Wang Fang"}),
			map[store.IndexRef]string{email1: "C"}, map[string]*store.Profile{"C": victim},
			func(t *testing.T, p plan) {
				if p.commit.NewCustomer || p.commit.Fields["name"].Submission != "S" || len(p.commit.IndexPut) != 0 || p.commit.Review != nil {
					t.Fatalf("%+v", p.commit)
				}
				if !maps.Equal(p.commit.Matched, map[string]int64{"web-form": 1}) {
					t.Errorf("a returning post is a duplicate prevented: matched %v", p.commit.Matched)
				}
			}},
		{"a duplicate prevented is counted on top of what the profile holds, by channel",
			sub(customer.Asserted, []store.IndexRef{email1}, nil),
			map[store.IndexRef]string{email1: "C"}, map[string]*store.Profile{"C": profile("C", func(p *store.Profile) {
				p.IDs[email1.Key()] = creator()
				p.Matched = map[string]int64{"web-form": 4, "chat": 2}
			})},
			func(t *testing.T, p plan) {
				if !maps.Equal(p.commit.Matched, map[string]int64{"web-form": 5, "chat": 2}) {
					t.Fatalf("matched %v", p.commit.Matched)
				}
			}},
		{"an asserted value never replaces a confirmed one: held and reviewed",
			sub(customer.Asserted, []store.IndexRef{email1}, map[string]string{"name": "Vandal"}),
			map[store.IndexRef]string{email1: "C"}, map[string]*store.Profile{"C": profile("C", func(p *store.Profile) {
				p.IDs[email1.Key()] = creator()
				p.Fields["name"] = store.FieldRef{Submission: "S0", Trust: customer.Proven, Fingerprint: fp("C", "name", "Wang")}
			})},
			func(t *testing.T, p plan) {
				if _, set := p.commit.Fields["name"]; set || !slices.Equal(p.heldFields, []string{"name"}) || p.commit.Review.Kind != store.ReviewValues {
					t.Fatalf("%+v %v", p.commit, p.heldFields)
				}
			}},
		{"an identifier an anonymous post added claims no slot",
			sub(customer.Asserted, []store.IndexRef{email2, phone1}, nil),
			map[store.IndexRef]string{phone1: "C"}, map[string]*store.Profile{"C": profile("C", func(p *store.Profile) {
				p.IDs[phone1.Key()] = creator()
				p.IDs[email1.Key()] = store.Identifier{Indexed: true, Trust: customer.Asserted} // added later, anonymously
			})},
			func(t *testing.T, p plan) {
				if p.commit.NewCustomer || p.commit.CustomerID != "C" || !p.commit.IDs[email2.Key()].Indexed || p.commit.IDs[email2.Key()].Confirmable {
					t.Fatalf("%+v", p.commit)
				}
			}},
		{"a post that disagrees with a child customer is a child's",
			sub(customer.Asserted, []store.IndexRef{email2, phone1}, map[string]string{"region": "华东"}),
			map[store.IndexRef]string{phone1: "C"}, map[string]*store.Profile{"C": profile("C", func(p *store.Profile) {
				p.IDs[email1.Key()], p.IDs[phone1.Key()], p.AgeBand = creator(), creator(), customer.AgeBandChild
			})},
			func(t *testing.T, p plan) {
				if !p.commit.NewCustomer || !p.child || p.commit.AgeBand != customer.AgeBandChild || len(p.commit.General) != 0 {
					t.Fatalf("child %v %+v", p.child, p.commit)
				}
			}},
		{"a held child birthday does not make a confirmed adult a child",
			func() write {
				w := sub(customer.Asserted, []store.IndexRef{email1}, map[string]string{"birthday": "2020-01-01"})
				w.facts.age = 6
				return w
			}(),
			map[store.IndexRef]string{email1: "C"}, map[string]*store.Profile{"C": profile("C", func(p *store.Profile) {
				p.IDs[email1.Key()] = creator()
				p.Fields["birthday"] = store.FieldRef{Submission: "S0", Trust: customer.Proven, Fingerprint: fp("C", "birthday", "1990-01-01")}
				p.General = map[string]string{"region": "华东"}
			})},
			func(t *testing.T, p plan) {
				if p.child || p.commit.AgeBand != "" || p.commit.ClearGeneral || !slices.Equal(p.heldFields, []string{"birthday"}) {
					t.Fatalf("child %v %+v", p.child, p.commit)
				}
			}},
		{"becoming a child: values repeated point to this (restricted) submission",
			func() write {
				w := sub(customer.Asserted, []store.IndexRef{email1}, map[string]string{"birthday": "2020-01-01", "name": "Wang"})
				w.facts.age = 6
				return w
			}(),
			map[store.IndexRef]string{email1: "C"}, map[string]*store.Profile{"C": victim},
			func(t *testing.T, p plan) {
				if !p.child || p.commit.Fields["name"].Submission != "S" || !p.commit.ClearGeneral {
					t.Fatalf("%+v", p.commit)
				}
			}},
		{"only a trusted birthday of 14 or over lifts the band",
			func() write {
				w := sub(customer.Trusted, []store.IndexRef{email1}, map[string]string{"birthday": "2000-01-01"})
				w.facts.age = 26
				return w
			}(),
			map[store.IndexRef]string{email1: "C"}, map[string]*store.Profile{"C": profile("C", func(p *store.Profile) {
				p.IDs[email1.Key()], p.AgeBand = creator(), customer.AgeBandChild
			})},
			func(t *testing.T, p plan) {
				if p.child || !p.commit.ClearAgeBand {
					t.Fatalf("%+v", p.commit)
				}
			}},
		{"an anonymous grant does not overwrite the customer's own consent record",
			sub(customer.Asserted, []store.IndexRef{email1}, nil),
			map[store.IndexRef]string{email1: "C"}, map[string]*store.Profile{"C": profile("C", func(p *store.Profile) {
				p.IDs[email1.Key()] = creator()
				p.Consent[consent.Processing] = consent.State{Granted: true, Notice: "old", Trust: string(customer.Proven)}
			})},
			func(t *testing.T, p plan) {
				if _, set := p.commit.Consent[consent.Processing]; set {
					t.Fatalf("%+v", p.commit.Consent)
				}
			}},
		{"a proven subject adds a second email: confirmable, claiming no index entry until confirmed",
			func() write {
				w := sub(customer.Proven, []store.IndexRef{email2}, nil)
				w.subject = "C"
				return w
			}(),
			map[store.IndexRef]string{}, map[string]*store.Profile{"C": victim},
			func(t *testing.T, p plan) {
				if x := p.commit.IDs[email2.Key()]; p.commit.CustomerID != "C" || x.Indexed || !x.Confirmable || x.Verified || len(p.commit.IndexPut) != 0 {
					t.Fatalf("%+v", p.commit)
				}
				if p.commit.Matched != nil {
					t.Errorf("a submission naming its subject prevented no duplicate: %v", p.commit.Matched)
				}
			}},
		{"a trusted order with C's phone and a new email: the email is neither verified nor confirmable (no link goes there)",
			sub(customer.Trusted, []store.IndexRef{phone1, email2}, nil),
			map[store.IndexRef]string{phone1: "C"}, map[string]*store.Profile{"C": victim},
			func(t *testing.T, p plan) {
				if x := p.commit.IDs[email2.Key()]; p.commit.CustomerID != "C" || !x.Indexed || x.Confirmable || x.Verified {
					t.Fatalf("%+v", x)
				}
			}},
		{"a second trusted order naming that email alone raises its trust, never verifies it",
			sub(customer.Trusted, []store.IndexRef{email2}, nil),
			map[store.IndexRef]string{email2: "C"}, map[string]*store.Profile{"C": profile("C", func(p *store.Profile) {
				p.IDs[phone1.Key()] = creator()
				p.IDs[email2.Key()] = store.Identifier{Indexed: true, Trust: customer.Trusted}
			})},
			func(t *testing.T, p plan) {
				if x, set := p.commit.IDs[email2.Key()]; set && (x.Verified || x.Confirmable) {
					t.Fatalf("%+v", x)
				}
			}},
		{"a trusted order repeating the customer's asserted email: trusted, still to confirm",
			sub(customer.Trusted, []store.IndexRef{email1}, nil),
			map[store.IndexRef]string{email1: "C"}, map[string]*store.Profile{"C": victim},
			func(t *testing.T, p plan) {
				if x := p.commit.IDs[email1.Key()]; x.Trust != customer.Trusted || x.Verified || !x.Confirmable {
					t.Fatalf("%+v", x)
				}
			}},
		{"an email a trusted order added anchors the customer: an anonymous post with its phone and another email is reviewed, not attached",
			sub(customer.Asserted, []store.IndexRef{email2, phone1}, nil),
			map[store.IndexRef]string{phone1: "C"}, map[string]*store.Profile{"C": profile("C", func(p *store.Profile) {
				p.IDs[phone1.Key()] = creator()
				p.IDs[email1.Key()] = store.Identifier{Indexed: true, Trust: customer.Trusted}
			})},
			func(t *testing.T, p plan) {
				if !p.commit.NewCustomer || p.commit.Review == nil {
					t.Fatalf("%+v", p.commit)
				}
			}},
		{"a trusted system creating a customer: its address is verified",
			sub(customer.Trusted, []store.IndexRef{email2}, nil),
			map[store.IndexRef]string{}, map[string]*store.Profile{},
			func(t *testing.T, p plan) {
				if x := p.commit.IDs[email2.Key()]; !p.commit.NewCustomer || !x.Indexed || !x.Verified {
					t.Fatalf("%+v", x)
				}
			}},
		{"confirming as is records the time and raises no trust (the person saw no value)",
			func() write {
				w := sub(customer.Proven, nil, nil)
				w.subject, w.confirm = "C", []string{"name", "company"}
				return w
			}(),
			map[store.IndexRef]string{}, map[string]*store.Profile{"C": victim},
			func(t *testing.T, p plan) {
				f := p.commit.Fields["name"]
				if f.Trust != customer.Asserted || f.ConfirmedAt != 1_800_000_000 || f.Submission != "S0" || !slices.Equal(p.confirmed, []string{"name"}) {
					t.Fatalf("%+v %v", f, p.confirmed)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, decide(tc.w, tc.owners, tc.heads, nil, "N", fp))
		})
	}
}

// An index entry of an erased customer counts as unclaimed everywhere: for
// taking it over, and for telling a disagreement. A child's status goes
// with the customer a submission is attached to, not with others it names.
func TestDecideStaleOwnersAndChildren(t *testing.T) {
	phone2 := store.IndexRef{Kind: customer.IdentityPhone, Hash: "P2"}
	adult := profile("C", func(p *store.Profile) { p.IDs[email1.Key()], p.IDs[phone1.Key()] = creator(), creator() })
	child := profile("K", func(p *store.Profile) { p.IDs[email2.Key()] = creator(); p.AgeBand = customer.AgeBandChild })

	// C's email with a phone an erased customer X held: another phone than
	// C's own, so a customer of its own; nothing of C changes.
	p := decide(sub(customer.Asserted, []store.IndexRef{email1, phone2}, nil), map[store.IndexRef]string{email1: "C", phone2: "X"},
		map[string]*store.Profile{"C": adult}, []string{"X"}, "N", fp)
	if !p.commit.NewCustomer || !slices.Equal(p.alsoMatched, []string{"C"}) || p.commit.Review == nil {
		t.Fatalf("an erased customer's phone let an anonymous post attach to C: %+v", p)
	}
	if !slices.Equal(p.commit.IndexPut, []store.IndexRef{phone2}) || !slices.Equal(p.commit.StaleIndexOwners, []string{"X"}) {
		t.Fatalf("takeover %v %v", p.commit.IndexPut, p.commit.StaleIndexOwners)
	}

	// Two erased customers' entries are both taken over, each checked.
	p = decide(sub(customer.Asserted, []store.IndexRef{email2, phone2}, nil), map[store.IndexRef]string{email2: "X", phone2: "Y"},
		map[string]*store.Profile{}, []string{"X", "Y"}, "N", fp)
	if !p.commit.NewCustomer || p.commit.Review != nil || len(p.commit.IndexPut) != 2 || !slices.Equal(p.commit.StaleIndexOwners, []string{"X", "Y"}) {
		t.Fatalf("two erased owners: %+v", p)
	}

	// A trusted order for adult C that names child K's email: C stays an
	// adult; the email is kept on C for the record, unindexed.
	w := sub(customer.Trusted, []store.IndexRef{email2}, map[string]string{"region": "华东"})
	w.subject = "C"
	p = decide(w, map[store.IndexRef]string{email2: "K"}, map[string]*store.Profile{"C": adult, "K": child}, nil, "N", fp)
	if p.commit.CustomerID != "C" || p.child || p.commit.AgeBand != "" || p.commit.IDs[email2.Key()].Indexed {
		t.Fatalf("C made a child by naming K's email: child %v %+v", p.child, p.commit)
	}
	if _, ok := p.commit.General["region"]; !ok {
		t.Fatalf("C's general fields treated as a child's: %+v", p.commit.General)
	}

	// An asserted post that disagrees with child K becomes a child itself.
	p = decide(sub(customer.Asserted, []store.IndexRef{email2, phone1}, nil), map[store.IndexRef]string{email2: "K", phone1: "C"},
		map[string]*store.Profile{"C": adult, "K": child}, nil, "N", fp)
	if !p.commit.NewCustomer || !p.child || p.commit.AgeBand != customer.AgeBandChild {
		t.Fatalf("touching child K: %+v", p)
	}
}
