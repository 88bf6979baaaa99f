package customer

import "testing"

func TestTrustMayReplace(t *testing.T) {
	cases := []struct {
		by, current Trust
		want        bool
	}{
		{Asserted, "", true},
		{Asserted, Asserted, true},
		{Asserted, Proven, false},
		{Asserted, Trusted, false},
		{Proven, Trusted, true},
		{Proven, Proven, true},
		{Trusted, Proven, true},
		{Trusted, Asserted, true},
	}
	for _, tc := range cases {
		if got := tc.by.MayReplace(tc.current); got != tc.want {
			t.Errorf("%s replacing %q: %v, want %v", tc.by, tc.current, got, tc.want)
		}
	}
}

func TestIdentities(t *testing.T) {
	for _, id := range Identities() {
		spec, ok := Lookup(id.Field)
		if !ok {
			t.Errorf("identity %s comes from field %s, which is not in the catalogue", id.Kind, id.Field)
		}
		if got, ok := IdentityOfField(spec.Name); !ok || got.Kind != id.Kind {
			t.Errorf("IdentityOfField(%s) = %v, %v", spec.Name, got.Kind, ok)
		}
		if id.Match == nil {
			t.Errorf("identity %s has no match function", id.Kind)
		}
	}
	if IdentityEmail.Priority() >= IdentityPhone.Priority() {
		t.Error("email must be matched before phone")
	}
	if _, ok := IdentityOfField("name"); ok {
		t.Error("name is not an identity")
	}
}
