package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SurveyResponse is one completed response of a survey tool, its answers
// keyed by the tool's question reference (Typeform's field ref,
// SurveyMonkey's question id, Qualtrics' question key such as QID1_TEXT).
type SurveyResponse struct {
	ID       string // the tool's response id: the delivery is taken once by it
	SurveyID string
	At       time.Time
	Answers  map[string]Answer
}

// Answer is one question's answer: a text (text, email, phone, number,
// date, URL, a single choice's label), several labels (a multiple
// choice), or a yes/no.
type Answer struct {
	Text   string
	Labels []string
	Bool   *bool
}

// SurveyRef is what a tool's notification names when the answers must be
// fetched from its API (SurveyMonkey, Qualtrics).
type SurveyRef struct {
	SurveyID   string
	ResponseID string
}

// ConsentTarget prefixes a map target that grants a consent purpose:
// "consent:marketing" is granted by a yes / checked answer.
const ConsentTarget = "consent:"

// affirmative are the answers that grant a purpose mapped to a question
// (compared case-folded and trimmed): a checked box, yes, agree.
var affirmative = []string{"yes", "y", "true", "1", "on", "checked", "agree", "i agree", "accept", "i accept",
	"是", "是的", "同意", "我同意", "接受", "好"}

// Granted reports whether an answer grants a purpose.
func (a Answer) Granted() bool {
	if a.Bool != nil {
		return *a.Bool
	}
	for _, v := range append([]string{a.Text}, a.Labels...) {
		if slices.Contains(affirmative, strings.ToLower(strings.TrimSpace(v))) {
			return true
		}
	}
	return false
}

// MapSurvey applies a source's map (question reference → catalogue field,
// or ConsentTarget+purpose) to a response: the fields' raw values and the
// purposes granted, sorted. An unanswered question is skipped; a yes/no
// or a multiple choice mapped to a field makes the response unmappable
// (the reason names the reference, never an answer). The purposes granted
// are answered even then: a response without the consent its source
// requires must keep nothing, not even in quarantine.
func MapSurvey(r SurveyResponse, mapping map[string]string) (map[string]string, []string, error) {
	refs := slices.Sorted(func(yield func(string) bool) {
		for k := range mapping {
			if !yield(k) {
				return
			}
		}
	})
	var grants []string
	for _, ref := range refs {
		if purpose, isConsent := strings.CutPrefix(mapping[ref], ConsentTarget); isConsent {
			if a, ok := r.Answers[ref]; ok && a.Granted() && !slices.Contains(grants, purpose) {
				grants = append(grants, purpose)
			}
		}
	}
	slices.Sort(grants)
	fields := map[string]string{}
	for _, ref := range refs {
		target := mapping[ref]
		a, ok := r.Answers[ref]
		if !ok || strings.HasPrefix(target, ConsentTarget) {
			continue
		}
		switch {
		case a.Bool != nil:
			return nil, grants, unmappable(fmt.Sprintf("question %s is a yes/no mapped to field %s", token(ref), token(target)))
		case len(a.Labels) > 1:
			return nil, grants, unmappable(fmt.Sprintf("question %s has several choices mapped to field %s", token(ref), token(target)))
		case len(a.Labels) == 1 && a.Text == "":
			a.Text = a.Labels[0]
		}
		if a.Text == "" {
			continue
		}
		if _, dup := fields[target]; !dup {
			fields[target] = a.Text
		}
	}
	return fields, grants, nil
}

// decodeJSON reads a JSON document into v, numbers as json.Number.
func decodeJSON(payload []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	return dec.Decode(v)
}

// ReadTypeform reads a Typeform form_response webhook: answers inline,
// each under its field.ref; the response id is form_response.token.
func ReadTypeform(payload []byte) (SurveyResponse, error) {
	var doc struct {
		EventType    string `json:"event_type"`
		FormResponse *struct {
			FormID      string    `json:"form_id"`
			Token       string    `json:"token"`
			SubmittedAt time.Time `json:"submitted_at"`
			Answers     []struct {
				Type  string `json:"type"`
				Field struct {
					Ref string `json:"ref"`
				} `json:"field"`
				Text        *string      `json:"text"`
				Email       *string      `json:"email"`
				PhoneNumber *string      `json:"phone_number"`
				URL         *string      `json:"url"`
				Date        *string      `json:"date"`
				Number      *json.Number `json:"number"`
				Boolean     *bool        `json:"boolean"`
				Choice      *struct {
					Label string `json:"label"`
					Other string `json:"other"`
				} `json:"choice"`
				Choices *struct {
					Labels []string `json:"labels"`
					Other  string   `json:"other"`
				} `json:"choices"`
			} `json:"answers"`
		} `json:"form_response"`
	}
	if err := decodeJSON(payload, &doc); err != nil {
		return SurveyResponse{}, unmappable("not a Typeform JSON document")
	}
	if doc.EventType != "form_response" || doc.FormResponse == nil {
		return SurveyResponse{}, unmappable("Typeform event " + token(doc.EventType) + " is not a form_response")
	}
	fr := doc.FormResponse
	if fr.Token == "" {
		return SurveyResponse{}, unmappable("Typeform response without a token")
	}
	r := SurveyResponse{ID: fr.Token, SurveyID: fr.FormID, At: fr.SubmittedAt, Answers: map[string]Answer{}}
	for _, a := range fr.Answers {
		if a.Field.Ref == "" {
			continue
		}
		var ans Answer
		for _, s := range []*string{a.Text, a.Email, a.PhoneNumber, a.URL, a.Date} {
			if s != nil {
				ans.Text = *s
			}
		}
		switch {
		case a.Number != nil:
			ans.Text = a.Number.String()
		case a.Boolean != nil:
			ans.Bool = a.Boolean
		case a.Choice != nil:
			ans.Text = a.Choice.Label
			if ans.Text == "" {
				ans.Text = a.Choice.Other
			}
		case a.Choices != nil:
			ans.Labels = a.Choices.Labels
			if a.Choices.Other != "" {
				ans.Labels = append(ans.Labels, a.Choices.Other)
			}
		}
		r.Answers[a.Field.Ref] = ans
	}
	return r, nil
}

// SurveyMonkeyNotification reads a SurveyMonkey webhook: a
// response_completed event names the survey and response (object_id);
// the answers are fetched. Other events carry nothing to take: ignore.
func SurveyMonkeyNotification(payload []byte) (SurveyRef, bool, error) {
	var doc struct {
		EventType  string `json:"event_type"`
		ObjectType string `json:"object_type"`
		ObjectID   string `json:"object_id"`
		Resources  struct {
			SurveyID string `json:"survey_id"`
		} `json:"resources"`
	}
	if err := decodeJSON(payload, &doc); err != nil {
		return SurveyRef{}, false, unmappable("not a SurveyMonkey JSON document")
	}
	if doc.EventType != "response_completed" {
		return SurveyRef{}, false, nil
	}
	if !apiID(doc.ObjectID) || !apiID(doc.Resources.SurveyID) {
		return SurveyRef{}, false, unmappable("SurveyMonkey response_completed without a survey and response id")
	}
	return SurveyRef{SurveyID: doc.Resources.SurveyID, ResponseID: doc.ObjectID}, true, nil
}

// ReadSurveyMonkey reads a response's details (GET
// /v3/surveys/{id}/responses/{id}/details?simple=true): answers under
// their question id; an open answer's text, a choice's simple_text.
func ReadSurveyMonkey(details []byte) (SurveyResponse, error) {
	var doc struct {
		ID             string `json:"id"`
		SurveyID       string `json:"survey_id"`
		DateModified   string `json:"date_modified"`
		ResponseStatus string `json:"response_status"`
		Pages          []struct {
			Questions []struct {
				ID      string `json:"id"`
				Answers []struct {
					Text       string `json:"text"`
					SimpleText string `json:"simple_text"`
					ChoiceID   string `json:"choice_id"`
				} `json:"answers"`
			} `json:"questions"`
		} `json:"pages"`
	}
	if err := decodeJSON(details, &doc); err != nil || doc.ID == "" {
		return SurveyResponse{}, unmappable("SurveyMonkey response details without an id")
	}
	if doc.ResponseStatus != "" && doc.ResponseStatus != "completed" {
		return SurveyResponse{}, unmappable("SurveyMonkey response " + token(doc.ResponseStatus) + ", not completed")
	}
	r := SurveyResponse{ID: doc.ID, SurveyID: doc.SurveyID, At: parseLooseTime(doc.DateModified), Answers: map[string]Answer{}}
	for _, p := range doc.Pages {
		for _, q := range p.Questions {
			var ans Answer
			for _, a := range q.Answers {
				v := a.Text
				if v == "" {
					v = a.SimpleText
				}
				switch {
				case v == "":
				case a.ChoiceID != "":
					ans.Labels = append(ans.Labels, v)
				default:
					ans.Text = v
				}
			}
			if len(ans.Labels) == 1 && ans.Text == "" {
				ans.Text, ans.Labels = ans.Labels[0], nil
			}
			if ans.Text != "" || len(ans.Labels) > 0 {
				r.Answers[q.ID] = ans
			}
		}
	}
	return r, nil
}

// QualtricsNotification reads a Qualtrics event's MSG: a completed
// response names its survey and response; the answers are fetched.
func QualtricsNotification(msg []byte) (SurveyRef, bool, error) {
	var doc struct {
		Status     string `json:"Status"`
		SurveyID   string `json:"SurveyID"`
		ResponseID string `json:"ResponseID"`
	}
	if err := decodeJSON(msg, &doc); err != nil {
		return SurveyRef{}, false, unmappable("Qualtrics MSG is not a JSON document")
	}
	if doc.Status != "" && doc.Status != "Complete" {
		return SurveyRef{}, false, nil
	}
	if !apiID(doc.SurveyID) || !apiID(doc.ResponseID) {
		return SurveyRef{}, false, unmappable("Qualtrics event without a survey and response id")
	}
	return SurveyRef{SurveyID: doc.SurveyID, ResponseID: doc.ResponseID}, true, nil
}

// ReadQualtrics reads a response (GET /API/v3/surveys/{id}/responses/{id}):
// result.values keyed by question (QID1_TEXT, QID2, …); a choice's label
// from result.labels.
func ReadQualtrics(body []byte) (SurveyResponse, error) {
	var doc struct {
		Result struct {
			ResponseID string                     `json:"responseId"`
			Values     map[string]json.RawMessage `json:"values"`
			Labels     map[string]json.RawMessage `json:"labels"`
		} `json:"result"`
	}
	if err := decodeJSON(body, &doc); err != nil || doc.Result.ResponseID == "" {
		return SurveyResponse{}, unmappable("Qualtrics response without an id")
	}
	r := SurveyResponse{ID: doc.Result.ResponseID, Answers: map[string]Answer{}}
	for k, raw := range doc.Result.Values {
		var ans Answer
		if l, ok := doc.Result.Labels[k]; ok {
			var one string
			var many []string
			switch {
			case json.Unmarshal(l, &one) == nil:
				ans.Text = one
			case json.Unmarshal(l, &many) == nil:
				ans.Labels = many
			}
		}
		if ans.Text == "" && len(ans.Labels) == 0 {
			var s string
			var n json.Number
			switch {
			case json.Unmarshal(raw, &s) == nil:
				ans.Text = s
			case json.Unmarshal(raw, &n) == nil:
				ans.Text = n.String()
			}
		}
		if k == "endDate" {
			r.At = parseLooseTime(ans.Text)
		}
		if ans.Text != "" || len(ans.Labels) > 0 {
			r.Answers[k] = ans
		}
	}
	return r, nil
}

// apiID reports whether s can be a survey tool's id in an API path: the
// tools' ids are letters, digits, '_' and '-' (SurveyMonkey's are
// digits; Qualtrics' SV_…, R_…).
func apiID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
