package consent

import (
	"errors"
	"reflect"
	"testing"
)

func TestCheck(t *testing.T) {
	req := Requirement{Required: []Purpose{Processing}, Optional: []Purpose{Contact, Marketing, Sensitive}, Notices: []string{"v1", "v2"}}
	cases := []struct {
		name        string
		grant       Grant
		needs       Needs
		want        []Purpose
		missing     []Purpose
		notOffered  []Purpose
		noticeError bool
	}{
		{"required only", Grant{[]Purpose{Processing}, "v1"}, Needs{}, []Purpose{Processing}, nil, nil, false},
		{"with optional, deduplicated and sorted", Grant{[]Purpose{Marketing, Processing, Marketing}, "v2"}, Needs{}, []Purpose{Marketing, Processing}, nil, nil, false},
		{"nothing granted fails closed", Grant{nil, "v1"}, Needs{}, nil, []Purpose{Processing}, nil, false},
		{"optional without required", Grant{[]Purpose{Contact}, "v1"}, Needs{}, nil, []Purpose{Processing}, nil, false},
		{"not offered", Grant{[]Purpose{Processing, Profiling}, "v1"}, Needs{}, nil, nil, []Purpose{Profiling}, false},
		{"unknown purposes are not echoed", Grant{[]Purpose{Processing, "zhang.wei@example.com", "x"}, "v1"}, Needs{}, nil, nil, []Purpose{Unrecognised}, false},
		{"unknown notice", Grant{[]Purpose{Processing}, "v0"}, Needs{}, nil, nil, nil, true},
		{"missing notice", Grant{[]Purpose{Processing}, ""}, Needs{}, nil, nil, nil, true},
		{"restricted data needs sensitive", Grant{[]Purpose{Processing}, "v1"}, Needs{Sensitive: true}, nil, []Purpose{Sensitive}, nil, false},
		{"restricted data with sensitive", Grant{[]Purpose{Processing, Sensitive}, "v1"}, Needs{Sensitive: true}, []Purpose{Processing, Sensitive}, nil, nil, false},
		{"child needs guardian and sensitive", Grant{[]Purpose{Processing}, "v1"}, Needs{Child: true}, nil, []Purpose{Guardian, Sensitive}, nil, false},
		{"child with guardian", Grant{[]Purpose{Processing, Guardian, Sensitive}, "v1"}, Needs{Child: true}, []Purpose{Guardian, Processing, Sensitive}, nil, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Check(tc.grant, req, tc.needs)
			if tc.missing == nil && tc.notOffered == nil && !tc.noticeError {
				if err != nil || !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %v, %v; want %v", got, err, tc.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, %v; want *Error", got, err)
			}
			if got != nil {
				t.Fatalf("granted %v despite the error", got)
			}
			if !reflect.DeepEqual(e.Missing, tc.missing) || !reflect.DeepEqual(e.NotOffered, tc.notOffered) || (e.Notice != "") != tc.noticeError {
				t.Fatalf("error %+v; want missing %v, not offered %v, notice error %v", e, tc.missing, tc.notOffered, tc.noticeError)
			}
			if len(tc.missing) > 0 && !errors.Is(err, ErrMissing) {
				t.Fatal("a missing purpose is not ErrMissing")
			}
			if len(tc.missing) == 0 && !errors.Is(err, ErrInvalid) {
				t.Fatal("an invalid grant is not ErrInvalid")
			}
		})
	}
}
