package privacy

import (
	"testing"

	"github.com/kehu-dev/kehu/shared/customer"
)

// The quarantine search finds an identifier on its boundaries: not inside
// a longer address, a longer number or another user id.
func TestMatcher(t *testing.T) {
	cases := []struct {
		kind    customer.IdentityKind
		value   string
		payload string
		want    bool
	}{
		{customer.IdentityEmail, "Wang@Example.com", `{"email":"wang@example.com"}`, true},
		{customer.IdentityEmail, "wang@example.com", `{"email":"WANG@EXAMPLE.COM"}`, true},
		{customer.IdentityEmail, "wang@example.com", `write to wang@example.com.`, true},
		{customer.IdentityEmail, "wang@example.com", `{"email":"xwang@example.com"}`, false},
		{customer.IdentityEmail, "wang@example.com", `{"email":"wang@example.com.cn"}`, false},
		{customer.IdentityPhone, "+86 139 1234 5678", `{"phone":"13912345678"}`, true},
		{customer.IdentityPhone, "+86 139 1234 5678", `{"phone":"+86 (139) 1234-5678"}`, true},
		{customer.IdentityPhone, "+86 139 1234 5678", `{"order":"1391234567890"}`, false},
		{customer.IdentityPhone, "+86 139 1234 5678", `{"a":"1", "b":"3912345678"}`, true},
		{customer.IdentityPhone, "+86 139 1234 5678", `{"amount":"12","n":34,"m":"5678"}`, false},
		{"wecom", "wecom:li", `{"FromUserName":"li"}`, true},
		{"wecom", "wecom:li", `{"FromUserName":"lily"}`, false},
		{"wecom", "wecom:li", `{"FromUserName":"wang-li"}`, false},
	}
	for _, c := range cases {
		m := matcher(c.kind, c.value)
		if got := m != nil && m(c.payload); got != c.want {
			t.Errorf("%s %q in %s: %v, want %v", c.kind, c.value, c.payload, got, c.want)
		}
	}
	if matcher(customer.IdentityPhone, "12345") != nil {
		t.Error("a phone of fewer than eight digits is searched for")
	}
}
