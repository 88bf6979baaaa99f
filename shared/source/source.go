// Package source holds webhook source definitions: which tool sends
// (provider), what it is (kind), its legal basis and notice, how its
// payloads map to catalogue fields, and its secrets — which live in the
// table only wrapped by the secrets KMS key, and in memory only in the
// webhook function that verifies with them. A source is to a webhook what
// a form definition is to a form post.
package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kehu-dev/kehu/shared/consent"
	"github.com/kehu-dev/kehu/shared/customer"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/webhook"
)

// Kinds of source.
const (
	KindChat   = "chat"   // chat and help-desk tools: the person's own request for service
	KindOrders = "orders" // the company's own order system: order events (trusted, the contract)
	KindSurvey = "survey" // survey tools: a person's answers, under the consent their survey collected
)

// Definition is a source as `kehu sources put` reads it. Secrets,
// EncodingAESKey and APIToken are secret: they are wrapped before they are
// stored, and Public drops them.
type Definition struct {
	ID       string            `json:"id"`
	Provider webhook.Provider  `json:"provider"`
	Kind     string            `json:"kind"`
	Basis    consent.Basis     `json:"basis"`
	Notice   string            `json:"notice"`
	Map      map[string]string `json:"map,omitempty"`
	CorpID   string            `json:"corp_id,omitempty"` // WeCom: the receiving corp id
	// Consent, for a survey source: the purposes its survey must have
	// collected (required) and may have (optional); the map's
	// "consent:<purpose>" questions grant them.
	Consent *form.ConsentSpec `json:"consent,omitempty"`
	// APIKey is SurveyMonkey's app key (not secret: the signing key is
	// "<api_key>&<api secret>", the secret being in Secrets).
	APIKey string `json:"api_key,omitempty"`
	// APIBaseURL is a survey tool's API base: Qualtrics' datacenter
	// (https://<dc>.qualtrics.com, required), SurveyMonkey's region
	// (default https://api.surveymonkey.com). Only the provider's own hosts.
	APIBaseURL string `json:"api_base_url,omitempty"`

	Secrets        []string `json:"secrets,omitempty"`          // signing secrets (WeCom: the callback token; SurveyMonkey: the API secret; Qualtrics: the shared key)
	EncodingAESKey string   `json:"encoding_aes_key,omitempty"` // WeCom
	APIToken       string   `json:"api_token,omitempty"`        // Slack bot token / WeCom access token, for lookups; Qualtrics API token
	AccessToken    string   `json:"access_token,omitempty"`     // SurveyMonkey access token (kept as api_token)
}

// ErrInvalid wraps every problem Parse finds. Messages never repeat a secret.
var ErrInvalid = errors.New("invalid source definition")

// Parse reads and checks a definition; unknown members are errors.
func Parse(doc []byte) (*Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := d.Check(); err != nil {
		return nil, err
	}
	if _, err := d.Form(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &d, nil
}

// Check validates a definition. Secrets are checked for form, never quoted.
func (d *Definition) Check() error {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	if !form.ValidID(d.ID) {
		bad("id must be lower-case letters, digits and dashes")
	}
	if !d.Provider.Valid() {
		bad("provider must be one of %v", webhook.Providers)
	}
	survey := slices.Contains(webhook.SurveyProviders, d.Provider)
	switch {
	case survey && d.Kind != KindSurvey:
		bad("a %s source is of kind %q", d.Provider, KindSurvey)
	case d.Kind == KindSurvey && !survey:
		bad("a survey source's provider is one of %v", webhook.SurveyProviders)
	case d.Kind == KindSurvey:
		d.checkSurvey(bad)
	case d.Kind == KindOrders && d.Provider != webhook.Standard:
		bad("an orders source signs as Standard Webhooks (provider standard)")
	case d.Kind == KindOrders && len(d.Map) > 0:
		bad("an orders source takes the documented order event; it has no map")
	case d.Kind != KindChat && d.Kind != KindOrders:
		bad("kind must be %q, %q or %q", KindChat, KindOrders, KindSurvey)
	}
	if d.Consent != nil && d.Kind != KindSurvey {
		bad("consent is for survey sources only (a chat or order webhook carries no consent)")
	}
	if d.Basis == "" {
		switch d.Kind {
		case KindOrders:
			d.Basis = consent.BasisContract // PIPL Art. 13(2)
		case KindSurvey:
			d.Basis = consent.BasisConsent
		default:
			d.Basis = consent.BasisServiceRequest
		}
	}
	switch {
	case !d.Basis.Valid():
		bad("basis must be consent, service-request or contract")
	case d.Basis == consent.BasisConsent && d.Kind != KindSurvey:
		// A chat or order webhook carries no consent of the person's to
		// check: under basis consent every event would be refused.
		bad("basis must be service-request or contract (a webhook carries no consent)")
	}
	if d.Notice == "" {
		bad("notice must name the notice version the tool's users were shown")
	}
	for path, target := range d.Map {
		if path == "" {
			bad("map has an empty payload path")
		}
		if target == webhook.TargetText || target == webhook.TargetConversation {
			continue
		}
		if p, isConsent := strings.CutPrefix(target, webhook.ConsentTarget); isConsent {
			if d.Kind != KindSurvey || !consent.Purpose(p).Valid() {
				bad("map target %q: consent:<purpose> is for survey sources, with a known purpose", customer.SafeName(target))
			}
			continue
		}
		if _, ok := customer.Lookup(target); !ok {
			bad("map target %q is not a catalogue field, %q or %q", customer.SafeName(target), webhook.TargetText, webhook.TargetConversation)
		}
	}
	for i, s := range d.Secrets {
		if _, err := DecodeSecret(d.Provider, s); err != nil {
			bad("secret %d: %v", i+1, err)
		}
	}
	if d.Provider == webhook.WeCom {
		if d.CorpID == "" {
			bad("a wecom source needs corp_id")
		}
		if d.EncodingAESKey != "" {
			if _, err := webhook.WeComKey(d.EncodingAESKey); err != nil {
				bad("encoding_aes_key: %v", err)
			}
		}
	} else if d.EncodingAESKey != "" || d.CorpID != "" {
		bad("encoding_aes_key and corp_id are for wecom sources only")
	}
	if (d.APIKey != "" || d.AccessToken != "") && d.Provider != webhook.SurveyMonkey {
		bad("api_key and access_token are for surveymonkey sources only")
	}
	if d.APIBaseURL != "" && !survey {
		bad("api_base_url is for survey sources only")
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(probs, "; "))
	}
	return nil
}

// checkSurvey checks what a survey source needs: a map whose targets are
// catalogue fields or consent:<purpose>, a consent block of known purposes
// (every required one asked by a consent question of the map), and each
// tool's API settings.
func (d *Definition) checkSurvey(bad func(string, ...any)) {
	if len(d.Map) == 0 {
		bad("a survey source needs a map: question reference → catalogue field or consent:<purpose>")
	}
	for path, target := range d.Map {
		if target == webhook.TargetText || target == webhook.TargetConversation {
			bad("map target %q is for chat sources; a survey maps to catalogue fields (path %q)", target, customer.SafeName(path))
		}
	}
	if d.Consent == nil {
		d.Consent = &form.ConsentSpec{}
	}
	asked := map[consent.Purpose]bool{}
	for _, target := range d.Map {
		if p, ok := strings.CutPrefix(target, webhook.ConsentTarget); ok {
			asked[consent.Purpose(p)] = true
		}
	}
	for _, p := range slices.Concat(d.Consent.Required, d.Consent.Optional) {
		if !p.Valid() {
			bad("consent purpose %q is not one of %v", customer.SafeName(string(p)), consent.Known)
		}
	}
	for _, p := range d.Consent.Required {
		if d.Basis == consent.BasisConsent || d.Basis == "" || p != consent.Processing {
			if !asked[p] {
				bad("required purpose %s is asked by no consent:%s question of the map", p, p)
			}
		}
	}
	for p := range asked {
		if !slices.Contains(d.Consent.Required, p) && !slices.Contains(d.Consent.Optional, p) {
			bad("the map asks for consent:%s, which the consent block neither requires nor offers", p)
		}
	}
	switch d.Provider {
	case webhook.SurveyMonkey:
		if d.APIKey == "" {
			bad("a surveymonkey source needs api_key (the app's key; the API secret goes in secrets)")
		}
		if d.AccessToken != "" {
			d.APIToken, d.AccessToken = d.AccessToken, ""
		}
		if d.APIBaseURL != "" && !webhook.SurveyAPIHost(d.Provider, d.APIBaseURL) {
			bad("api_base_url must be https://api.surveymonkey.com, https://api.eu.surveymonkey.com or https://api.surveymonkey.ca")
		}
	case webhook.Qualtrics:
		if !webhook.SurveyAPIHost(d.Provider, d.APIBaseURL) {
			bad("a qualtrics source needs api_base_url, its datacenter: https://<datacenter>.qualtrics.com")
		}
	}
}

// SigningKey is the key a stored secret verifies with: SurveyMonkey signs
// with "<api_key>&<api secret>"; the others with the secret itself.
func (d *Definition) SigningKey(secret []byte) []byte {
	if d.Provider == webhook.SurveyMonkey {
		return append([]byte(d.APIKey+"&"), secret...)
	}
	return secret
}

// NeedsAPIToken reports whether a source fetches what its notifications
// only name (SurveyMonkey, Qualtrics): then it needs its API token.
func (d *Definition) NeedsAPIToken() bool {
	return d.Provider == webhook.SurveyMonkey || d.Provider == webhook.Qualtrics
}

// DecodeSecret turns a secret as a provider writes it into the key bytes
// the verifier uses: Standard Webhooks secrets are "whsec_" + base64; the
// others are used as written.
func DecodeSecret(p webhook.Provider, s string) ([]byte, error) {
	if p == webhook.Standard {
		return webhook.StandardSecret(s)
	}
	min := 8
	if p == webhook.WeCom {
		min = 3 // WeCom callback tokens are 3 to 32 letters and digits
	}
	if len(s) < min {
		return nil, fmt.Errorf("a secret has at least %d characters", min)
	}
	return []byte(s), nil
}

// Public returns the definition without its secrets.
func (d *Definition) Public() Definition {
	p := *d
	p.Secrets, p.EncodingAESKey, p.APIToken, p.AccessToken = nil, "", "", ""
	return p
}

// UserField is the catalogue field that carries the provider's own user
// id, if its payloads name people that way.
func (d *Definition) UserField() string {
	switch d.Provider {
	case webhook.Slack:
		return "slack_user"
	case webhook.WeCom:
		return "wecom_user"
	}
	return ""
}

// Form is the definition the pipeline checks a source's submissions
// against: the contact fields, the provider's user field, every catalogue
// field the map names; the source's basis and notice; its kind as channel.
func (d *Definition) Form() (*form.Definition, error) {
	names := []string{"email", "phone", "name"}
	switch d.Kind {
	case KindOrders:
		names = []string{"email", "phone"}
	case KindSurvey:
		names = nil // exactly what the map names
	}
	if f := d.UserField(); f != "" {
		names = append(names, f)
	}
	for _, target := range d.Map {
		if _, ok := customer.Lookup(target); ok && !slices.Contains(names, target) {
			names = append(names, target)
		}
	}
	slices.Sort(names)
	type field struct {
		Name string `json:"name"`
	}
	spec := map[string]any{"required": []string{}, "notices": []string{d.Notice}}
	if d.Consent != nil {
		spec["required"], spec["optional"] = nonNil(d.Consent.Required), d.Consent.Optional
	}
	doc := map[string]any{"id": d.ID, "channel": d.Kind, "basis": d.Basis, "consent": spec}
	var fields []field
	for _, n := range names {
		fields = append(fields, field{n})
	}
	doc["fields"] = fields
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return form.Parse(raw)
}

// Context is the KMS encryption context of a source's wrapped secrets:
// bound to the table and the source, so a secret copied to another source
// does not unwrap.
func Context(table, sourceID string) map[string]string {
	return map[string]string{"kehu:table": table, "kehu:purpose": "webhook-secret", "kehu:source": sourceID}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
