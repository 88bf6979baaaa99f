// Package customer holds what kehu knows about a customer's fields: the one
// catalogue that gives every field its kind and confidentiality tier, and the
// normalisation each kind gets before it is stored or indexed.
package customer

import (
	"fmt"
	"regexp"
	"sort"
)

// Tier is a confidentiality tier (DESIGN.md, "Data classification").
type Tier string

const (
	// General fields (一般信息) stay plain so segments can use them.
	General Tier = "general"
	// Confidential fields (中等机密) are encrypted under the confidential KMS key.
	Confidential Tier = "confidential"
	// Restricted fields (高度保密) are encrypted under the restricted KMS key
	// and need the separate "sensitive" consent.
	Restricted Tier = "restricted"
)

// Encrypted reports whether values of the tier are stored encrypted.
func (t Tier) Encrypted() bool { return t == Confidential || t == Restricted }

// Valid reports whether t is one of the three tiers.
func (t Tier) Valid() bool { return t == General || t.Encrypted() }

// Kind says how a field's value is checked and normalised.
type Kind string

const (
	KindText     Kind = "text"     // one line of text, NFC, spaces collapsed
	KindLongText Kind = "longtext" // free text, NFC, line breaks kept
	KindEmail    Kind = "email"    // stored as typed, IDN domain to ASCII; matched case-folded
	KindPhone    Kind = "phone"    // E.164 with a default region
	KindDate     Kind = "date"     // YYYY-MM-DD
	KindNumber   Kind = "number"   // decimal number
	KindChoice   Kind = "choice"   // one of the form's options
)

// Spec is the catalogue entry of one field.
type Spec struct {
	Name   string
	Kind   Kind
	Tier   Tier
	MaxLen int // in characters (runes), after normalisation
}

// catalogue is the one place where each field's tier is declared. A form may
// carry only fields listed here, and cannot change their tier.
var catalogue = map[string]Spec{
	// confidential (中等机密): identifying and contact data, free text
	"name":           {Kind: KindText, Tier: Confidential, MaxLen: 200},
	"email":          {Kind: KindEmail, Tier: Confidential, MaxLen: 254},
	"phone":          {Kind: KindPhone, Tier: Confidential, MaxLen: 32},
	"fax":            {Kind: KindPhone, Tier: Confidential, MaxLen: 32},
	"address":        {Kind: KindLongText, Tier: Confidential, MaxLen: 500},
	"company":        {Kind: KindText, Tier: Confidential, MaxLen: 200},
	"contact_person": {Kind: KindText, Tier: Confidential, MaxLen: 200},
	"birthday":       {Kind: KindDate, Tier: Confidential, MaxLen: 10},
	"message":        {Kind: KindLongText, Tier: Confidential, MaxLen: 5000},
	// a chat tool's own id of the person, scoped by workspace ("T123:U456"):
	// an identifier, blind-indexed and sealed like email and phone
	"slack_user": {Kind: KindText, Tier: Confidential, MaxLen: 100},
	"wecom_user": {Kind: KindText, Tier: Confidential, MaxLen: 200},
	// restricted (高度保密): sensitive personal information (PIPL Art. 28)
	"national_id":     {Kind: KindText, Tier: Restricted, MaxLen: 32},
	"bank_account":    {Kind: KindText, Tier: Restricted, MaxLen: 64},
	"income":          {Kind: KindNumber, Tier: Restricted, MaxLen: 20},
	"credit_standing": {Kind: KindText, Tier: Restricted, MaxLen: 100},
	"health":          {Kind: KindLongText, Tier: Restricted, MaxLen: 2000},
	// general (一般信息): plain attributes, usable by segments
	"region":         {Kind: KindText, Tier: General, MaxLen: 100},
	"industry":       {Kind: KindText, Tier: General, MaxLen: 100},
	"company_nature": {Kind: KindText, Tier: General, MaxLen: 100},
	"customer_type":  {Kind: KindText, Tier: General, MaxLen: 100},
	"company_size":   {Kind: KindText, Tier: General, MaxLen: 50},
	// the language the customer reads kehu's emails and pages in (zh-CN, en)
	"locale": {Kind: KindText, Tier: General, MaxLen: 16},
}

func init() {
	for name, s := range catalogue {
		s.Name = name
		catalogue[name] = s
	}
}

var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Lookup returns the catalogue entry of a field.
func Lookup(name string) (Spec, bool) {
	s, ok := catalogue[name]
	return s, ok
}

// Catalogue returns every field spec, sorted by name.
func Catalogue() []Spec {
	out := make([]Spec, 0, len(catalogue))
	for _, s := range catalogue {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ValidName reports whether name can be a field name: lower-case ASCII,
// digits and underscores. Names appear in attribute paths and AAD.
func ValidName(name string) bool { return fieldName.MatchString(name) }

// SafeName returns name if it looks like a field name, and a placeholder
// otherwise: an unknown "name" sent by a client could be personal data, and
// problems, logs and metrics never repeat personal data.
func SafeName(name string) string {
	if ValidName(name) {
		return name
	}
	return "(unrecognised field name)"
}

// FieldError is one problem with one field. Detail never echoes the value.
type FieldError struct {
	Field  string `json:"field"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func (e FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Code) }
