package samtemplate

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
)

// What each principal may do to the table, by partition (pk patterns, as
// the policies write them): exactly this. A partition's owners are those
// that may write or delete it; only an owner writes a partition.
type tableAccess struct {
	write  []string // PutItem, UpdateItem, ConditionCheckItem (and their PartiQL and batch forms)
	delete []string // DeleteItem
	get    []string // GetItem, BatchGetItem
	query  []string // Query
}

// A customer's data: profile and ledger, blind index, wrapped data keys,
// reviews.
var customerParts = []string{"CUST#*", "BIDX#*", "DKEY#*", "REVIEW*"}

// What a webhook delivery writes besides: its delivery mark (exactly once)
// or its quarantined payload.
var webhookParts = []string{"WHK#*", "QUARANTINE"}

// Segments: memberships (SEG#<segment>#<shard>), member counts
// (SEGCOUNT#<shard>) and the sweep's due entries (SEGDUE#<day>#<shard>).
var segmentParts = []string{"SEG#*", "SEGCOUNT#*", "SEGDUE#*"}

// What operators read of segments: counts and members (`kehu segments
// list|members`, `kehu report quality`), not the due entries.
var segmentReads = []string{"SEG#*", "SEGCOUNT#*"}

// The segmenter and the sweep apply the same transaction: a customer's
// SEGMENTS state item (in its CUST# partition), the memberships it joins
// and leaves, their counts, its due entry. They delete memberships and due
// entries only, never a CUST# item; they read a customer's profile and
// segment state (GetItem); no Scan.
var segmenterAccess = tableAccess{
	write:  with([]string{"CUST#*"}, segmentParts...),
	delete: []string{"SEG#*", "SEGDUE#*"},
	get:    []string{"CUST#*"},
}

// The sweep also lists the day's due entries, and for the daily quality
// report the segment counts and the review queue.
var sweepAccess = tableAccess{
	write:  segmenterAccess.write,
	delete: segmenterAccess.delete,
	get:    segmenterAccess.get,
	query:  []string{"SEGDUE#*", "SEGCOUNT#*", "REVIEW"},
}

// Data-subject requests: under the customer (REQ#<customer>, with its
// pending-erasure slot under REQSLOT#), one item per open or scheduled request
// (REQOPEN) and a monthly journal (REQLOG#<yyyy-mm>). Recording one
// puts into all three in one transaction.
var requestParts = []string{"REQ#*", "REQOPEN", "REQLOG#*"}

// What `kehu requests list` reads: the open ones or a month's (Query),
// each then in its current state under its customer (GetItem).
var (
	requestLists = []string{"REQOPEN", "REQLOG#*"}
	requestGets  = []string{"REQ#*"}
)

func with(base []string, more ...string) []string { return slices.Concat(base, more) }

var access = map[string]tableAccess{
	// functions
	"FormIntakeFunction": {
		write: with(customerParts, "IDEM#*"), delete: with(customerParts, "IDEM#*"),
		get: with(customerParts, "IDEM#*", "FORM", "CONFIG"),
	},
	// Dedupes by WHK#, not IDEM#; deletes nothing; no Query.
	"WebhookIntakeFunction": {
		write: with(customerParts, append(slices.Clone(webhookParts), "ORDER#*")...),
		get:   with(customerParts, append(slices.Clone(webhookParts), "ORDER#*", "SOURCE", "CONFIG")...),
	},
	"SetupFunction": {write: []string{"CONFIG"}, get: []string{"CONFIG"}},
	// A survey answer's transaction (profile, ledger entry, the link's
	// single-use mark, a new address's index entry, data keys); a
	// withdrawal; a verification. No deletes, no idempotency records.
	"SurveyIntakeFunction": {write: customerParts, get: with(customerParts, "SURVEY", "CONFIG")},
	// A customer's profile, the entry holding the address and its data
	// key; a withdrawal, the download link's mark (CUST#<id>/LINK#…); the
	// requests (recorded under the customer, in the month and while open;
	// answered or cancelled: the open entry and the erasure slot deleted),
	// and the customer's own read back (REQ#<id>); the audit of the copy's
	// read.
	"PrivacyFunction": {write: with([]string{"CUST#*", "AUDIT#*", "REQSLOT#*"}, requestParts...), delete: []string{"REQOPEN", "REQSLOT#*"},
		get: []string{"CUST#*", "DKEY#*", "REQ#*", "REQSLOT#*", "CONFIG"}, query: []string{"CUST#*", "DKEY#*", "REQ#*", "REQSLOT#*", "CONFIG"}},
	// An erasure, as compliance's `kehu customer erase` does it; the open
	// requests (REQOPEN), claimed and done.
	"PrivacySweepFunction": {write: with([]string{"CUST#*", "REVIEW", "AUDIT#*"}, requestParts...),
		delete: []string{"CUST#*", "BIDX#*", "ORDER#*", "REVIEW", "QUARANTINE", "REQOPEN", "REQSLOT#*"},
		get:    []string{"CUST#*", "DKEY#*", "REVIEW", "QUARANTINE"},
		query:  []string{"CUST#*", "DKEY#*", "REVIEW", "QUARANTINE", "REQOPEN", "SEG#retention-lapsed#*"}},
	"SurveySenderFunction": {write: []string{"CUST#*", "AUDIT#*"}, get: []string{"CUST#*", "DKEY#*", "SURVEY", "CONFIG"}, query: []string{"SEG#review-due#*", "SEG#retention-lapsed#*"}},
	"SegmenterFunction":    segmenterAccess,
	"SweepFunction":        sweepAccess,
	// operators
	// Every role that decrypts appends to the customers' audit (AUDIT#).
	"SalesServiceRole": {write: []string{"AUDIT#*"}, get: with(customerParts, append([]string{"CONFIG"}, segmentReads...)...),
		query: with(customerParts, append([]string{"CONFIG"}, segmentReads...)...)},
	// Restoring a field value (CUST#); `kehu quarantine list|show|replay|drop`:
	// replay runs the webhook pipeline in the CLI, drop deletes; `kehu
	// customer erase` and its request; `kehu requests list`. It appends to
	// the audit and cannot read it (TestAuditWritersCannotReadIt).
	"ComplianceRole": {
		write:  with(customerParts, slices.Concat(webhookParts, []string{"AUDIT#*"}, requestParts)...),
		delete: []string{"QUARANTINE", "CUST#*", "BIDX#*", "ORDER#*", "REVIEW", "REQOPEN"}, // drop; erase
		get:    with(customerParts, slices.Concat([]string{"CONFIG", "QUARANTINE", "SOURCE", "WHK#*"}, segmentReads, requestGets)...),
		query:  with(customerParts, slices.Concat([]string{"CONFIG", "QUARANTINE"}, segmentReads, requestLists)...),
	},
	// `kehu audit ID` and `kehu requests list`: reads only, no KMS.
	"AuditorRole": {get: requestGets, query: with([]string{"AUDIT#*"}, requestLists...)},
	// Every partition, but general-tier attributes only (TestAnalystReadsGeneralTierOnly).
	"AnalystRole": {get: []string{"*"}, query: []string{"*"}},
	// `kehu forms …`, `kehu sources …`; `kehu customer find` and the secret;
	// `kehu segments …`.
	"AdminRole": {
		write: []string{"FORM", "SOURCE", "SURVEY"},
		get:   with([]string{"FORM", "SOURCE", "SURVEY", "CONFIG", "BIDX#*"}, segmentReads...),
		query: with([]string{"FORM", "SOURCE", "SURVEY"}, segmentReads...),
	},
}

// partitionOwners returns the partitions each principal may write or delete.
func partitionOwners() map[string][]string {
	out := map[string][]string{}
	for p, a := range access {
		out[p] = setOf(append(slices.Clone(a.write), a.delete...)...)
	}
	return out
}

// readable is every partition a principal may read or write.
func (a tableAccess) readable() []string {
	return setOf(slices.Concat(a.write, a.delete, a.get, a.query)...)
}

// Partitions read-only to whoever does not own them: definitions and the
// wrapped secret.
var sharedReads = []string{"FORM", "CONFIG", "SOURCE", "SURVEY"}

// DynamoDB actions by what they do. Table-level actions carry no partition
// key, so a LeadingKeys condition cannot limit them (ForAllValues over no
// values holds): nobody in the template gets them.
var (
	ddbWrites = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
		"dynamodb:ConditionCheckItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"}
	ddbKeyedReads = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PartiQLSelect"}
	// The actions of each kind of access; a statement allowing any of them
	// grants that kind on its partitions.
	ddbAccessKinds = map[string][]string{
		"write":  {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate"},
		"delete": {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQLDelete"},
		"get":    {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PartiQLSelect"},
		"query":  {"dynamodb:Query", "dynamodb:PartiQLSelect"},
	}
	ddbUnkeyed = []string{"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:CreateTable",
		"dynamodb:RestoreTableFromBackup", "dynamodb:RestoreTableToPointInTime", "dynamodb:ImportTable",
		"dynamodb:ExportTableToPointInTime", "dynamodb:UpdateTimeToLive", "dynamodb:DeleteBackup",
		"dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy"}
	// The stream's actions carry no partition key either: only the
	// segmenter's role has them, on the stream alone (TestStreamAndQueueAccess).
	ddbStream = []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
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
	roles := tableRoles(t, tpl, ids)
	owners := partitionOwners()
	for role, owner := range roles {
		t.Run(owner, func(t *testing.T) {
			owned, ok := owners[owner]
			if !ok {
				t.Fatalf("declare in access which partitions %s owns", owner)
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
						if r := access[owner].readable(); !within(k, r) {
							t.Errorf("%s lets %s read partitions %q, outside %v", s, owner, k, r)
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

// tableRoles maps the role of each function and each operator role to the
// name access declares it under, and fails for policies attached elsewhere.
func tableRoles(t *testing.T, tpl *cloudformation.Template, ids map[string][]statement) map[string]string {
	t.Helper()
	roles := map[string]string{} // role -> owner
	for name := range tpl.GetAllServerlessFunctionResources() {
		roles[functionRole(t, tpl, name)] = name
	}
	for _, r := range operatorRoles {
		roles[r] = r
	}
	for role := range ids {
		if _, ok := roles[role]; !ok {
			t.Errorf("policies attached to %s, which is neither a function's role nor an operator role", role)
		}
	}
	return roles
}

// Each principal may write, delete, get and query exactly the partitions
// declared in access: no more (a grant nobody decided), and no fewer (a
// grant the code needs, or production refuses it). A statement with no
// LeadingKeys condition counts as "*", every partition.
func TestTableAccessIsExact(t *testing.T) {
	tpl := open(t)
	ids := identityPolicies(t, tpl)
	roles := tableRoles(t, tpl, ids)
	for name := range access {
		if !slices.Contains(slices.Collect(maps.Values(roles)), name) {
			t.Errorf("access declares %s, which is neither a function nor an operator role", name)
		}
	}
	for role, owner := range roles {
		t.Run(owner, func(t *testing.T) {
			a, ok := access[owner]
			if !ok {
				t.Fatalf("declare in access what %s may do to the table", owner)
			}
			want := map[string][]string{"write": a.write, "delete": a.delete, "get": a.get, "query": a.query}
			got := map[string][]string{}
			for _, s := range ids[role] {
				if s.Effect != "Allow" {
					continue
				}
				keys, limited := leadingKeys(s)
				if !limited {
					keys = []string{"*"}
				}
				for kind, actions := range ddbAccessKinds {
					if _, ok := s.allowsAny(actions); ok {
						got[kind] = append(got[kind], keys...)
					}
				}
			}
			for _, kind := range slices.Sorted(maps.Keys(ddbAccessKinds)) {
				if g, w := setOf(got[kind]...), setOf(want[kind]...); !slices.Equal(g, w) {
					t.Errorf("%s may %s partitions %v, want exactly %v", owner, kind, g, w)
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
	general := []string{"pk", "sk", "entity", "version", "created_at", "updated_at", "review_due_at", "confirmed_at", "general", "consent", "age_band", "trade_count", "trade_total", "trade_months", "first_trade_at", "last_trade_at",
		"count", "at", // a segment's count items, and when a member joined
		"kind"} // a review's kind (identity, values): kehu report quality
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

// Who writes (or deletes) each partition the store writes, by the prefix
// the store builds its keys with: exactly these principals, as access
// grants them. A new writer of a partition is a decision, made here.
var partitionWriters = map[string][]string{
	"CUST#": {"FormIntakeFunction", "WebhookIntakeFunction", "ComplianceRole", // profiles, ledgers; restore, request-review
		"SurveyIntakeFunction",                    // survey answers, withdrawals, verifications, link-use marks
		"PrivacyFunction", "PrivacySweepFunction", // withdrawals by the privacy page; erasures
		"SurveySenderFunction",                // send records (CUST#<id>/SEND#…)
		"SegmenterFunction", "SweepFunction"}, // a customer's SEGMENTS state item
	"BIDX#":      {"FormIntakeFunction", "WebhookIntakeFunction", "SurveyIntakeFunction", "ComplianceRole", "PrivacySweepFunction"},
	"DKEY#":      {"FormIntakeFunction", "WebhookIntakeFunction", "SurveyIntakeFunction", "ComplianceRole"},
	"REVIEW":     {"FormIntakeFunction", "WebhookIntakeFunction", "SurveyIntakeFunction", "ComplianceRole", "PrivacySweepFunction"},
	"IDEM#":      {"FormIntakeFunction"},
	"WHK#":       {"WebhookIntakeFunction", "ComplianceRole"},
	"QUARANTINE": {"WebhookIntakeFunction", "ComplianceRole", "PrivacySweepFunction"},
	"ORDER#":     {"WebhookIntakeFunction", "ComplianceRole", "PrivacySweepFunction"}, // orders; erasure deletes a customer's
	"CONFIG":     {"SetupFunction"},
	"FORM":       {"AdminRole"},
	"SOURCE":     {"AdminRole"},
	"SURVEY":     {"AdminRole"},
	// Requests: the privacy page's, the sweep's (retention erasures,
	// claims), an operator's erasure.
	"REQ#":    {"PrivacyFunction", "PrivacySweepFunction", "ComplianceRole"},
	"REQOPEN": {"PrivacyFunction", "PrivacySweepFunction", "ComplianceRole"},
	"REQLOG#": {"PrivacyFunction", "PrivacySweepFunction", "ComplianceRole"},
	// A customer's one scheduled erasure: taken by the page, freed when
	// it is done or cancelled.
	"REQSLOT#": {"PrivacyFunction", "PrivacySweepFunction"},
	// Appended by whoever decrypts; never updated or deleted by anyone.
	"AUDIT#": {"SalesServiceRole", "ComplianceRole", "SurveySenderFunction", "PrivacyFunction", "PrivacySweepFunction"},
	// Segments are the segmenter's and the sweep's alone: no operator or
	// intake function can make a customer a member or change a count.
	"SEG#":      {"SegmenterFunction", "SweepFunction"},
	"SEGCOUNT#": {"SegmenterFunction", "SweepFunction"},
	"SEGDUE#":   {"SegmenterFunction", "SweepFunction"},
}

// Every partition the store writes (its pk constants and pk-building
// functions) has an owner above and a policy in the template that lets its
// owner write it: a new kind of item cannot arrive without someone deciding
// who may write it, nor be refused in production for want of a grant. Its
// owners are exactly those partitionWriters names.
//
// And the other way: every partition a policy names (in access) is one the
// store writes, with that exact key prefix, so a grant cannot miss the
// partition the code uses (WHK# against WEBHOOK#, say).
func TestEveryPartitionHasAnOwner(t *testing.T) {
	// A pk constant (reviewPK = "REVIEW", requestPKPrefix = "REQ#") or a
	// pk-building function's literal (return "CUST#" + id).
	pk := regexp.MustCompile(`(?:PK(?:Prefix)?\s*=\s*|\breturn\s+)"([A-Z][A-Z_]*#?)"`)
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
	owners := partitionOwners()
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
		var writers []string
		for principal, patterns := range owners {
			if within(p, patterns) {
				writers = append(writers, principal)
			}
		}
		if want, ok := partitionWriters[p]; !ok {
			t.Errorf("partition %q of shared/store: declare in partitionWriters who writes it (now %v)", p, setOf(writers...))
		} else if !slices.Equal(setOf(writers...), setOf(want...)) {
			t.Errorf("partition %q is written by %v, want exactly %v", p, setOf(writers...), setOf(want...))
		}
	}
	for p := range partitionWriters {
		if !found[p] {
			t.Errorf("partitionWriters declares %q, which shared/store does not write (it writes %v)", p, sortedKeys(found))
		}
	}
	named := map[string]bool{}
	for _, a := range access {
		for _, p := range a.readable() {
			named[p] = p != "*"
		}
	}
	for _, p := range sortedKeys(named) {
		// A grant names a code partition, or a narrower slice of one
		// (SEG#review-due#*: one segment's memberships).
		if named[p] && !slices.ContainsFunc(sortedKeys(found), func(f string) bool { return within(f, []string{p}) || within(p, []string{f + "*"}) }) {
			t.Errorf("partition %q is granted, but shared/store writes no such partition (it writes %v): is the prefix the code's?", p, sortedKeys(found))
		}
	}
}
