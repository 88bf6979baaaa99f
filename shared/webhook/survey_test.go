package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

var surveyNow = time.Date(2026, 11, 23, 10, 16, 0, 0, time.UTC)

// The survey tools' payloads in testdata, each read below.
var surveyTestdata = []string{"typeform-form-response.json", "surveymonkey-response-completed.json", "surveymonkey-response-details.json",
	"qualtrics-completed-msg.json", "qualtrics-response.json"}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	smBody = `{"event_type":"response_completed","event_datetime":"2026-11-23T10:14:52.123456+00:00","object_id":"5007154325","resources":{"survey_id":"405768925"}}`
	qMSG   = `{"Status":"Complete","SurveyID":"SV_3KSkTO8zy4aaB7g","ResponseID":"R_1dGCs8XYAyxmm3P","CompletedDate":"2026-11-23 10:14:52","BrandID":"kehutest"}`
)

// Vectors computed outside Go (Python's hmac), over the exact bytes.
func TestSurveySignatureVectors(t *testing.T) {
	tf := readTestdata(t, "typeform-form-response.json")
	cases := []struct {
		name string
		p    Provider
		req  Request
		keys [][]byte
		sign string
	}{
		{"typeform", Typeform, Request{Header: map[string]string{"typeform-signature": "sha256=byjktgLvWENZFgV2bAtiahNcIKIxeJspoYGpR/YbRAE="}, Body: tf},
			[][]byte{[]byte("typeform-local-webhook-secret")}, TypeformSign([]byte("typeform-local-webhook-secret"), tf)},
		{"surveymonkey", SurveyMonkey, Request{Header: map[string]string{"sm-signature": "Japjy1Io099gZ8XK86jceceVe2s="}, Body: []byte(smBody)},
			[][]byte{[]byte("sm-local-api-key&sm-local-api-secret")}, SurveyMonkeySign("sm-local-api-key", "sm-local-api-secret", []byte(smBody))},
		{"qualtrics", Qualtrics, Request{Body: []byte(url.Values{"Topic": {"kehutest.surveyengine.completedResponse.SV_3KSkTO8zy4aaB7g"}, "MSG": {qMSG},
			"HMAC": {"c485260f338c6e25ea618c14f4fa29f582c5270772855d1915da7513a4506de017f14cc82ea34df4feb7294c362f1fa24d58180fa52957e51aa7fa99b30066ca"}}.Encode())},
			[][]byte{[]byte("qualtrics-local-shared-key")}, QualtricsSign("qualtrics-local-shared-key", qMSG)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Now = surveyNow
			v, err := Verify(tc.p, tc.req, Secrets{Keys: tc.keys})
			if err != nil {
				t.Fatalf("the vector does not verify: %v", err)
			}
			if tc.p == Qualtrics && string(v.Payload) != qMSG {
				t.Fatalf("the authenticated payload is not MSG: %s", v.Payload)
			}
			for _, want := range []string{tc.req.Header["typeform-signature"], tc.req.Header["sm-signature"]} {
				if want != "" && want != tc.sign {
					t.Errorf("the signing helper makes %s, the vector is %s", tc.sign, want)
				}
			}
			// Negative twins: another key, a changed byte, missing, stale.
			if _, err := Verify(tc.p, tc.req, Secrets{Keys: [][]byte{[]byte("not-the-secret")}}); !errors.Is(err, ErrSignature) {
				t.Errorf("another key: %v", err)
			}
			tampered := tc.req
			tampered.Body = []byte(strings.Replace(string(tc.req.Body), "2026-11-23", "2026-11-24", 1))
			if _, err := Verify(tc.p, tampered, Secrets{Keys: tc.keys}); !errors.Is(err, ErrSignature) {
				t.Errorf("a changed byte: %v", err)
			}
			bare := tc.req
			bare.Header = nil
			if tc.p == Qualtrics {
				bare.Body = []byte(url.Values{"MSG": {qMSG}}.Encode())
			}
			if _, err := Verify(tc.p, bare, Secrets{Keys: tc.keys}); !errors.Is(err, ErrMissing) {
				t.Errorf("no signature: %v", err)
			}
			late := tc.req
			late.Now = surveyNow.Add(SurveyMaxAge + time.Hour)
			if _, err := Verify(tc.p, late, Secrets{Keys: tc.keys}); !errors.Is(err, ErrStale) {
				t.Errorf("a replay after %v: %v", SurveyMaxAge, err)
			}
		})
	}
	if SurveyMaxAge >= 7*24*time.Hour {
		t.Error("a delivery could be replayed after its delivery mark expired")
	}
}

// Qualtrics' HMAC, by the published test vector of an independent
// implementation (kyma-incubator/connector-tools, qualtrics-event-gw).
func TestQualtricsPublishedVector(t *testing.T) {
	msg := `{"Status":"Complete","SurveyID":"SV_1AmkKSDmoZ4XlQx","ResponseID":"R_0B7IcnXszjEUHLP","CompletedDate":"2019-06-25 07:58:25","BrandID":"sapdevelopment"}`
	const want = "c2c585a404c239aa3063b462cc33551d3ed3ed2de0899f58d456fc0ef7ebef6f3c3af44957989bd0592603e41edde9528f7d9ed09ee128bf719aa12f46e5c598"
	if got := QualtricsSign("kyma4ever", msg); got != want {
		t.Fatalf("got %s", got)
	}
	body := url.Values{"Topic": {"sapdevelopment.surveyengine.completedResponse.SV_1AmkKSDmoZ4XlQx"}, "MSG": {msg}, "HMAC": {want}}.Encode()
	if _, err := Verify(Qualtrics, Request{Body: []byte(body), Now: time.Date(2019, 6, 25, 8, 0, 0, 0, time.UTC)},
		Secrets{Keys: [][]byte{[]byte("kyma4ever")}}); err != nil {
		t.Fatal(err)
	}
	// An unzoned CompletedDate may be the account's local time: east of
	// UTC it reads as a future time, which is accepted up to UTC+14.
	if _, err := Verify(Qualtrics, Request{Body: []byte(body), Now: time.Date(2019, 6, 24, 23, 58, 25, 0, time.UTC)},
		Secrets{Keys: [][]byte{[]byte("kyma4ever")}}); err != nil {
		t.Fatalf("a CompletedDate in UTC+8: %v", err)
	}
}

func TestReadAndMapSurveys(t *testing.T) {
	tf, _ := os.ReadFile("testdata/typeform-form-response.json")
	r, err := ReadTypeform(tf)
	if err != nil || r.ID != "a3a12ec67a1365927098a606107fac15" {
		t.Fatalf("%+v %v", r, err)
	}
	mapping := map[string]string{"email_ref": "email", "name_ref": "name", "industry_ref": "industry", "ok_ref": "consent:processing", "news_ref": "consent:marketing"}
	fields, grants, err := MapSurvey(r, mapping)
	if err != nil || fields["email"] != "laura.chen@example.org" || fields["industry"] != "manufacturing" || fields["name"] != "Laura Chen" ||
		strings.Join(grants, ",") != "processing" {
		t.Fatalf("%v %v %v", fields, grants, err)
	}
	// A yes/no mapped to a field is unmappable; the reason names the
	// question, never an answer.
	_, _, err = MapSurvey(r, map[string]string{"ok_ref": "company"})
	var um *UnmappableError
	if !errors.As(err, &um) || strings.Contains(um.Reason, "true") {
		t.Fatalf("%v", err)
	}
	if _, err := ReadTypeform([]byte(`{"event_type":"form_response_partial","form_response":{"token":"x"}}`)); !errors.As(err, &um) {
		t.Fatalf("a partial response: %v", err)
	}

	ref, ok, err := SurveyMonkeyNotification([]byte(smBody))
	if err != nil || !ok || ref != (SurveyRef{SurveyID: "405768925", ResponseID: "5007154325"}) {
		t.Fatalf("%+v %v %v", ref, ok, err)
	}
	if _, ok, err := SurveyMonkeyNotification([]byte(`{"event_type":"response_created","object_id":"1"}`)); ok || err != nil {
		t.Fatal("a response_created event is not a completed response")
	}
	if _, _, err := SurveyMonkeyNotification([]byte(`{"event_type":"response_completed","object_id":"../../users/me","resources":{"survey_id":"1"}}`)); !errors.As(err, &um) {
		t.Fatal("an id that is a path was taken")
	}
	details := `{"id":"5007154325","survey_id":"405768925","response_status":"completed","date_modified":"2026-11-23T10:14:52+00:00","pages":[{"id":"1","questions":[
		{"id":"652286715","answers":[{"text":"ming.li@example.com"}]},
		{"id":"652286716","answers":[{"choice_id":"4385174700","simple_text":"Yes"}]},
		{"id":"652286717","answers":[{"choice_id":"4385174701","simple_text":"Retail"},{"choice_id":"4385174702","simple_text":"Logistics"}]}]}]}`
	sr, err := ReadSurveyMonkey([]byte(details))
	if err != nil {
		t.Fatal(err)
	}
	fields, grants, err = MapSurvey(sr, map[string]string{"652286715": "email", "652286716": "consent:processing"})
	if err != nil || fields["email"] != "ming.li@example.com" || strings.Join(grants, ",") != "processing" {
		t.Fatalf("%v %v %v", fields, grants, err)
	}
	if _, _, err := MapSurvey(sr, map[string]string{"652286717": "industry"}); !errors.As(err, &um) {
		t.Fatal("two choices mapped to one field")
	}

	qref, ok, err := QualtricsNotification([]byte(qMSG))
	if err != nil || !ok || qref.ResponseID != "R_1dGCs8XYAyxmm3P" || qref.SurveyID != "SV_3KSkTO8zy4aaB7g" {
		t.Fatalf("%+v %v", qref, err)
	}
	qr, err := ReadQualtrics([]byte(`{"result":{"responseId":"R_1dGCs8XYAyxmm3P","values":{"QID1_TEXT":"hui.wang@example.com","QID2":1,"QID3":2,"endDate":"2026-11-23T10:14:52Z"},
		"labels":{"QID2":"Yes","QID3":"No"}},"meta":{"httpStatus":"200 - OK","requestId":"5f4e"}}`))
	if err != nil {
		t.Fatal(err)
	}
	fields, grants, err = MapSurvey(qr, map[string]string{"QID1_TEXT": "email", "QID2": "consent:processing", "QID3": "consent:marketing"})
	if err != nil || fields["email"] != "hui.wang@example.com" || strings.Join(grants, ",") != "processing" || qr.At.IsZero() {
		t.Fatalf("%v %v %v %v", fields, grants, err, qr.At)
	}

	// The testdata documents, as the local sources map them.
	if ref, ok, err := SurveyMonkeyNotification(readTestdata(t, "surveymonkey-response-completed.json")); err != nil || !ok || ref.ResponseID != "5007154325" {
		t.Fatalf("%+v %v", ref, err)
	}
	sr, err = ReadSurveyMonkey(readTestdata(t, "surveymonkey-response-details.json"))
	if err != nil {
		t.Fatal(err)
	}
	fields, grants, err = MapSurvey(sr, map[string]string{"652286715": "email", "652286714": "name", "652286718": "region",
		"652286716": "consent:processing", "652286719": "consent:contact"})
	if err != nil || fields["region"] != "华南" || fields["name"] != "Ming Li" || strings.Join(grants, ",") != "processing" {
		t.Fatalf("%v %v %v", fields, grants, err)
	}
	if ref, ok, err := QualtricsNotification(readTestdata(t, "qualtrics-completed-msg.json")); err != nil || !ok || ref.SurveyID != "SV_3KSkTO8zy4aaB7g" {
		t.Fatalf("%+v %v", ref, err)
	}
	qr, err = ReadQualtrics(readTestdata(t, "qualtrics-response.json"))
	if err != nil {
		t.Fatal(err)
	}
	fields, grants, err = MapSurvey(qr, map[string]string{"QID1_TEXT": "email", "QID2_TEXT": "phone", "QID4": "consent:processing", "QID5": "consent:marketing"})
	if err != nil || fields["phone"] != "+86 139 0013 9000" || strings.Join(grants, ",") != "marketing,processing" {
		t.Fatalf("%v %v %v", fields, grants, err)
	}
}

func TestSurveyAPIHost(t *testing.T) {
	for base, want := range map[string]bool{
		"https://api.surveymonkey.com":         true,
		"https://api.eu.surveymonkey.com":      true,
		"https://evil.example.com":             false,
		"http://api.surveymonkey.com":          false,
		"https://api.surveymonkey.com.evil.cn": false,
		"https://api.surveymonkey.com/v3":      false,
		"https://user@api.surveymonkey.com":    false,
	} {
		if got := SurveyAPIHost(SurveyMonkey, base); got != want {
			t.Errorf("surveymonkey %s: %v", base, got)
		}
	}
	for base, want := range map[string]bool{
		"https://yul1.qualtrics.com":          true,
		"https://fra1.qualtrics.com/":         true,
		"https://qualtrics.com":               false,
		"https://a.b.qualtrics.com":           false,
		"https://yul1.qualtrics.com.evil.com": false,
		"https://yul1.qualtrics.com:8443":     false,
	} {
		if got := SurveyAPIHost(Qualtrics, base); got != want {
			t.Errorf("qualtrics %s: %v", base, got)
		}
	}
}

// Whatever a survey tool's payload holds, reading and mapping it does not
// panic, and a reason never quotes an answer.
func FuzzMapSurvey(f *testing.F) {
	tf, _ := os.ReadFile("testdata/typeform-form-response.json")
	f.Add(tf)
	f.Add([]byte(smBody))
	f.Add([]byte(qMSG))
	f.Add([]byte(`{"result":{"responseId":"R_1","values":{"QID1":"secret-answer"},"labels":{"QID1":["a","b"]}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		mapping := map[string]string{"email_ref": "email", "ok_ref": "consent:processing", "QID1": "company", "652286715": "email"}
		check := func(err error) {
			var um *UnmappableError
			if errors.As(err, &um) && strings.Contains(um.Reason, "secret-answer") {
				t.Fatalf("a reason quotes an answer: %s", um.Reason)
			}
		}
		for _, read := range []func([]byte) (SurveyResponse, error){ReadTypeform, ReadSurveyMonkey, ReadQualtrics} {
			r, err := read(doc)
			check(err)
			if err == nil {
				_, _, err = MapSurvey(r, mapping)
				check(err)
			}
		}
		_, _, err := SurveyMonkeyNotification(doc)
		check(err)
		_, _, err = QualtricsNotification(doc)
		check(err)
	})
}

// Without a test override, a survey tool's token goes only to the tool's
// own API hosts, whatever base a stored definition names; a 4xx answer is
// permanent, a 429 or 5xx is not.
func TestSurveyAPIBasePinned(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
	defer srv.Close()
	d := &Directory{}
	ref := SurveyRef{SurveyID: "SV_1", ResponseID: "R_1"}
	if _, err := d.QualtricsResponse(context.Background(), srv.URL, "token", ref); !errors.Is(err, ErrLookup) || calls != 0 {
		t.Fatalf("asked %s: %v (%d calls)", srv.URL, err, calls)
	}
	if _, err := d.SurveyMonkeyResponse(context.Background(), "https://api.surveymonkey.com.evil.example", "token", ref); !errors.Is(err, ErrLookup) {
		t.Fatalf("%v", err)
	}
	for status, permanent := range map[int]bool{401: true, 404: true, 410: true, 408: false, 429: false, 503: false} {
		if got := (&StatusError{Status: status}).Permanent(); got != permanent {
			t.Errorf("HTTP %d permanent %v", status, got)
		}
	}
}
