package samtemplate

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kehu-dev/kehu/shared/sender"
)

// The survey sender runs on its own schedule parameter, once at a time.
func TestSurveySenderSchedule(t *testing.T) {
	typ, props := event(t, "SurveySenderFunction")
	if typ != "Schedule" || props["Schedule"] != "Ref:SenderSchedule" {
		t.Fatalf("the sender's event is %s %v, want a Schedule on the parameter SenderSchedule", typ, props["Schedule"])
	}
	if got := parameterDefault(t, "SenderSchedule"); got != "rate(1 day)" {
		t.Errorf("SenderSchedule defaults to %v", got)
	}
	fn, err := open(t).GetServerlessFunctionWithName("SurveySenderFunction")
	if err != nil {
		t.Fatal(err)
	}
	if fn.ReservedConcurrentExecutions == nil || *fn.ReservedConcurrentExecutions != 1 {
		t.Error("the sender may run twice at once")
	}
	// The parameter's default (goformation resolves it) is the code's.
	if v, err := time.ParseDuration(fn.Environment.Variables["SENDER_INTERVAL"]); err != nil || v != sender.Defaults().Interval {
		t.Errorf("SENDER_INTERVAL is %q, want the sender's default %v", fn.Environment.Variables["SENDER_INTERVAL"], sender.Defaults().Interval)
	}
}

// Only the sender may send email, as the one SES identity and from its
// addresses; no other role holds any SES action.
func TestSESForTheSenderIdentityOnly(t *testing.T) {
	tpl := open(t)
	senderRole := functionRole(t, tpl, "SurveySenderFunction")
	found := false
	for role, sts := range identityPolicies(t, tpl) {
		for _, s := range sts {
			ses := slices.ContainsFunc(s.Actions, func(a string) bool { return strings.HasPrefix(strings.ToLower(a), "ses:") || a == "*" })
			if !ses || s.Effect != "Allow" {
				continue
			}
			if role != senderRole && role != functionRole(t, tpl, "PrivacyFunction") { // the privacy function emails a copy's link
				t.Errorf("%s gives %s SES actions %v", s, role, s.Actions)
				continue
			}
			found = true
			if !slices.Equal(s.Actions, []string{"ses:SendEmail"}) {
				t.Errorf("%s: actions %v, want ses:SendEmail only", s, s.Actions)
			}
			for _, r := range s.Resources {
				if !strings.Contains(r, ":identity/${SenderIdentity}") {
					t.Errorf("%s: resource %s is not the sender's identity", s, r)
				}
			}
			// A domain identity allows its addresses, an address identity itself.
			// (goformation resolves the Ref to the parameter's default.)
			if from := s.Condition["StringLike"]["ses:FromAddress"]; len(from) != 2 || !slices.Contains(from, "Sub:*@${SenderIdentity}") ||
				!slices.Contains(from, fmt.Sprint(parameterDefault(t, "SenderIdentity"))) {
				t.Errorf("%s: From not limited to the identity: %v", s, s.Condition)
			}
		}
	}
	if !found {
		t.Fatal("the sender cannot send email")
	}
}

// The survey function seals but never decrypts a tier; the sender decrypts
// the confidential tier and nothing of the restricted one, and generates
// no data keys (it writes no values).
func TestSurveyFunctionsKeyUse(t *testing.T) {
	tpl := open(t)
	kps := keyPolicies(t, tpl)
	survey := functionRole(t, tpl, "SurveyIntakeFunction")
	senderRole := functionRole(t, tpl, "SurveySenderFunction")
	for _, key := range []string{"ConfidentialKey", "RestrictedKey"} {
		if _, ok := principals(kps[key], decryptActions)[survey]; ok {
			t.Errorf("the survey function may decrypt under %s", key)
		}
		if _, ok := principals(kps[key], []string{"kms:GenerateDataKey"})[senderRole]; ok {
			t.Errorf("the sender may generate data keys under %s", key)
		}
	}
	if _, ok := principals(kps["ConfidentialKey"], decryptActions)[senderRole]; !ok {
		t.Error("the sender cannot read the address it emails")
	}
	if _, ok := principals(kps["RestrictedKey"], decryptActions)[senderRole]; ok {
		t.Error("the sender may decrypt the restricted tier")
	}
}

// The sender may update only the send records' attributes in a customer's
// partition: never a profile's consent, identifiers or a ledger entry.
func TestSenderUpdatesSendRecordsOnly(t *testing.T) {
	tpl := open(t)
	role := functionRole(t, tpl, "SurveySenderFunction")
	for _, s := range identityPolicies(t, tpl)[role] {
		if _, ok := s.allowsAny([]string{"dynamodb:UpdateItem"}); !ok {
			continue
		}
		attrs := s.Condition["ForAllValues:StringEquals"]["dynamodb:Attributes"]
		for _, forbidden := range []string{"consent", "ids", "src", "general", "version", "values", "restricted"} {
			if len(attrs) == 0 || slices.Contains(attrs, forbidden) {
				t.Errorf("%s lets the sender update %q (attributes %v)", s, forbidden, attrs)
			}
		}
	}
}
