package samtemplate

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Who owns which partitions of the table (pk patterns, as the policies
// write them). Only an owner writes a partition.
var owners = map[string][]string{
	// functions
	"FormIntakeFunction": {"CUST#*", "BIDX#*", "IDEM#*", "REVIEW*", "DKEY#*"},
	"SetupFunction":      {"CONFIG"},
	// operators
	"ComplianceRole":   {"CUST#*"}, // restoring a field value: the profile and its ledger entry
	"AdminRole":        {"FORM"},
	"SalesServiceRole": nil,
	"AnalystRole":      nil,
}

// Partitions any function may read without owning them: definitions and
// the wrapped secret.
var sharedReads = []string{"FORM", "CONFIG"}

// DynamoDB actions by what they do. Table-level actions carry no partition
// key, so a LeadingKeys condition cannot limit them (ForAllValues over no
// values holds): nobody in the template gets them.
var (
	ddbWrites = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
		"dynamodb:ConditionCheckItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"}
	ddbKeyedReads = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PartiQLSelect"}
	ddbUnkeyed    = []string{"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:CreateTable",
		"dynamodb:RestoreTableFromBackup", "dynamodb:RestoreTableToPointInTime", "dynamodb:ImportTable",
		"dynamodb:ExportTableToPointInTime", "dynamodb:UpdateTimeToLive", "dynamodb:DeleteBackup",
		"dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
)

// within reports whether every partition key matching pattern also matches
// one of the owned patterns. Owned patterns are exact names ("CONFIG") or
// a literal prefix and one trailing * ("CUST#*").
func within(pattern string, owned []string) bool {
	literal, wild, _ := strings.Cut(strings.ReplaceAll(pattern, "?", "*"), "*")
	hasWild := wild != "" || strings.ContainsAny(pattern, "*?")
	for _, o := range owned {
		prefix, isPrefix := strings.CutSuffix(o, "*")
		switch {
		case !isPrefix && !hasWild && pattern == o:
			return true
		case isPrefix && strings.HasPrefix(literal, prefix):
			return true
		}
	}
	return false
}

// leadingKeys returns a statement's dynamodb:LeadingKeys patterns, if it
// limits every key of a request (ForAllValues) to them.
func leadingKeys(s statement) ([]string, bool) {
	for _, op := range []string{"ForAllValues:StringLike", "ForAllValues:StringEquals"} {
		if ks, ok := s.Condition[op]["dynamodb:LeadingKeys"]; ok && len(ks) > 0 {
			return ks, true
		}
	}
	return nil, false
}

// No principal can write a partition it does not own: every statement
// allowing a write carries a LeadingKeys condition whose patterns all lie
// within the principal's own partitions, and functions read only their own
// partitions plus the read-only definitions and secret.
func TestWritesOnlyOwnPartitions(t *testing.T) {
	tpl := open(t)
	ids := identityPolicies(t, tpl)
	roles := map[string]string{} // role -> owner
	for name := range tpl.GetAllServerlessFunctionResources() {
		roles[functionRole(t, tpl, name)] = name
	}
	for _, r := range []string{"SalesServiceRole", "ComplianceRole", "AnalystRole", "AdminRole"} {
		roles[r] = r
	}
	for role := range ids {
		if _, ok := roles[role]; !ok {
			t.Errorf("policies attached to %s, which is neither a function's role nor an operator role", role)
		}
	}
	for role, owner := range roles {
		t.Run(owner, func(t *testing.T) {
			owned, ok := owners[owner]
			if !ok {
				t.Fatalf("declare in owners which partitions %s owns", owner)
			}
			_, err := tpl.GetServerlessFunctionWithName(owner)
			isFunction := err == nil
			for _, s := range ids[role] {
				if s.Effect != "Allow" {
					continue
				}
				if len(s.NotAction) > 0 {
					t.Errorf("%s uses NotAction", s)
					continue
				}
				for _, a := range ddbUnkeyed {
					// The analysts' scan is limited by attributes instead (below).
					if s.allows(a) && (owner != "AnalystRole" || a != "dynamodb:Scan") {
						t.Errorf("%s allows %s, which no partition condition can limit", s, a)
					}
				}
				write, writes := s.allowsAny(ddbWrites)
				_, reads := s.allowsAny(ddbKeyedReads)
				if !writes && !reads {
					continue
				}
				for _, r := range s.Resources {
					if r != "GetAtt:CustomerTable.Arn" {
						t.Errorf("%s allows DynamoDB on %s, not just the table", s, r)
					}
				}
				keys, limited := leadingKeys(s)
				if writes {
					if !limited {
						t.Errorf("%s allows %s with no ForAllValues dynamodb:LeadingKeys condition", s, write)
						continue
					}
					for _, k := range keys {
						if !within(k, owned) {
							t.Errorf("%s lets %s write partitions %q, outside its own %v", s, owner, k, owned)
						}
					}
				}
				if reads && isFunction {
					if !limited {
						t.Errorf("%s lets function %s read every partition", s, owner)
						continue
					}
					for _, k := range keys {
						if !within(k, append(slices.Clone(owned), sharedReads...)) {
							t.Errorf("%s lets %s read partitions %q, outside its own %v and %v", s, owner, k, owned, sharedReads)
						}
					}
				}
				// Definitions and the secret are read-only to whoever does not own them.
				for _, shared := range sharedReads {
					if writes && !within(shared, owned) && slices.ContainsFunc(keys, func(k string) bool { return within(shared, []string{k}) }) {
						t.Errorf("%s lets %s write %s", s, owner, shared)
					}
				}
			}
		})
	}
}

// The check itself: patterns outside the owner's partitions are caught.
func TestWithin(t *testing.T) {
	cases := []struct {
		pattern string
		owned   []string
		want    bool
	}{
		{"CUST#*", []string{"CUST#*"}, true},
		{"CUST#abc", []string{"CUST#*"}, true},
		{"CONFIG", []string{"CONFIG"}, true},
		{"*", []string{"CUST#*"}, false},
		{"C*", []string{"CUST#*", "CONFIG"}, false},
		{"CONFIG*", []string{"CONFIG"}, false},
		{"CONF?G", []string{"CONFIG"}, false},
		{"FORM", []string{"CUST#*", "BIDX#*"}, false},
		{"REVIEW#identity", []string{"REVIEW*"}, true},
	}
	for _, tc := range cases {
		if got := within(tc.pattern, tc.owned); got != tc.want {
			t.Errorf("within(%q, %v) = %v, want %v", tc.pattern, tc.owned, got, tc.want)
		}
	}
}

// The analysts' role reads only general-tier attributes, projected on
// every request, and holds no KMS permission at all.
func TestAnalystReadsGeneralTierOnly(t *testing.T) {
	tpl := open(t)
	general := []string{"pk", "sk", "entity", "version", "created_at", "updated_at", "review_due_at", "confirmed_at", "general", "consent", "age_band"}
	sts := identityPolicies(t, tpl)["AnalystRole"]
	if len(sts) == 0 {
		t.Fatal("AnalystRole has no policy")
	}
	for _, s := range sts {
		if s.Effect != "Allow" {
			continue
		}
		for _, a := range append(slices.Clone(s.Actions), s.NotAction...) {
			if !strings.HasPrefix(strings.ToLower(a), "dynamodb:") {
				t.Errorf("%s allows %s", s, a)
			}
		}
		if _, ok := s.allowsAny(ddbWrites); ok {
			t.Errorf("%s allows a write", s)
		}
		attrs := s.Condition["ForAllValues:StringEquals"]["dynamodb:Attributes"]
		if !slices.Equal(setOf(attrs...), setOf(general...)) {
			t.Errorf("%s: dynamodb:Attributes %v, want %v", s, attrs, general)
		}
		if sel := s.Condition["StringEqualsIfExists"]["dynamodb:Select"]; !slices.Equal(sel, []string{"SPECIFIC_ATTRIBUTES"}) {
			t.Errorf("%s: dynamodb:Select %v, want SPECIFIC_ATTRIBUTES", s, sel)
		}
	}
	for key, kp := range keyPolicies(t, tpl) {
		for _, s := range kp {
			if slices.ContainsFunc(s.Principals, func(p string) bool { return principalRole(p) == "AnalystRole" }) {
				t.Errorf("%s names AnalystRole (on %s)", s, key)
			}
		}
	}
}

// Every partition the store writes (its pk constants and pk-building
// functions) has an owner above and a policy in the template that lets its
// owner write it: a new kind of item cannot arrive without someone deciding
// who may write it, nor be refused in production for want of a grant.
func TestEveryPartitionHasAnOwner(t *testing.T) {
	pk := regexp.MustCompile(`(?:PK\s*=\s*|\breturn\s+)"([A-Z][A-Z_]*#?)"`)
	found := map[string]bool{}
	for _, src := range sources(t, "../../shared/store/*.go") {
		for _, m := range pk.FindAllSubmatch(src, -1) {
			found[string(m[1])] = true
		}
	}
	if len(found) < 5 {
		t.Fatalf("found only partitions %v in shared/store; has the way keys are built changed?", sortedKeys(found))
	}
	var granted []string // LeadingKeys patterns of every write statement
	for _, sts := range identityPolicies(t, open(t)) {
		for _, s := range sts {
			if _, ok := s.allowsAny(ddbWrites); ok {
				keys, _ := leadingKeys(s)
				granted = append(granted, keys...)
			}
		}
	}
	for _, p := range sortedKeys(found) {
		owned := false
		for _, patterns := range owners {
			owned = owned || within(p, patterns)
		}
		if !owned {
			t.Errorf("partition %q of shared/store has no owner in this test", p)
		}
		if !within(p, granted) {
			t.Errorf("partition %q of shared/store: no policy in template.yaml lets anyone write it", p)
		}
	}
}
