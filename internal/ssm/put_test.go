package ssm

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth/berth/internal/ssm/ssmstate"
)

func TestResolveTier(t *testing.T) {
	small, large, huge := "v", strings.Repeat("x", 4097), strings.Repeat("x", 8193)
	policies := []ssmstate.Policy{{Type: "Expiration"}}
	for _, tc := range []struct {
		name          string
		req           putRequest
		current, want string
		wantErr       bool
	}{
		{name: "default", req: putRequest{value: small}, want: tierStandard},
		{name: "kept", req: putRequest{value: small}, current: tierAdvanced, want: tierAdvanced},
		{name: "asked", req: putRequest{value: small, tier: tierAdvanced}, want: tierAdvanced},
		{name: "upgrade", req: putRequest{value: small, tier: tierAdvanced}, current: tierStandard, want: tierAdvanced},
		{name: "downgrade", req: putRequest{value: small, tier: tierStandard}, current: tierAdvanced, wantErr: true},
		{name: "standard too large", req: putRequest{value: large}, wantErr: true},
		{name: "advanced too large", req: putRequest{value: huge, tier: tierAdvanced}, wantErr: true},
		{name: "intelligent small", req: putRequest{value: small, tier: tierIntelligent}, want: tierStandard},
		{name: "intelligent large", req: putRequest{value: large, tier: tierIntelligent}, want: tierAdvanced},
		{name: "intelligent huge", req: putRequest{value: huge, tier: tierIntelligent}, wantErr: true},
		{name: "intelligent policies", req: putRequest{value: small, tier: tierIntelligent, policies: policies}, want: tierAdvanced},
		{name: "intelligent keeps advanced", req: putRequest{value: small, tier: tierIntelligent}, current: tierAdvanced, want: tierAdvanced},
		{name: "standard policies", req: putRequest{value: small, policies: policies}, wantErr: true},
	} {
		got, err := tc.req.resolveTier(tc.current)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: %q, %v", tc.name, got, err)
		}
	}
}

func TestMeta(t *testing.T) {
	secure := &ssmstate.Meta{Type: typeSecure, DataType: dataTypeText, Tier: tierStandard, KeyID: "alias/mine", Description: "old"}
	for _, tc := range []struct {
		name    string
		req     putRequest
		cur     *ssmstate.Meta
		want    ssmstate.Meta
		wantErr error
	}{
		{name: "new string", req: putRequest{value: "v", typ: typeString, keyID: "alias/ignored"},
			want: ssmstate.Meta{Type: typeString, DataType: dataTypeText, Tier: tierStandard}},
		{name: "new secure", req: putRequest{value: "v", typ: typeSecure},
			want: ssmstate.Meta{Type: typeSecure, DataType: dataTypeText, Tier: tierStandard, KeyID: defaultKeyID}},
		{name: "new without type", req: putRequest{value: "v"}, wantErr: errValidation},
		{name: "overwrite keeps type and key, not the description", req: putRequest{value: "v"}, cur: secure,
			want: ssmstate.Meta{Type: typeSecure, DataType: dataTypeText, Tier: tierStandard, KeyID: "alias/mine"}},
		{name: "overwrite with a new key", req: putRequest{value: "v", keyID: "alias/new"}, cur: secure,
			want: ssmstate.Meta{Type: typeSecure, DataType: dataTypeText, Tier: tierStandard, KeyID: "alias/new"}},
		{name: "type change", req: putRequest{value: "v", typ: typeString}, cur: secure, wantErr: errTypeMismatch},
		{name: "data type change", req: putRequest{value: "ami-12345678", dataType: dataTypeImage}, cur: secure, wantErr: errValidation},
		{name: "image of a SecureString", req: putRequest{value: "ami-12345678", typ: typeSecure, dataType: dataTypeImage}, wantErr: errUnsupportedType},
	} {
		got, err := tc.req.meta(tc.cur)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.Type != tc.want.Type || got.DataType != tc.want.DataType || got.Tier != tc.want.Tier ||
			got.KeyID != tc.want.KeyID || got.Description != tc.want.Description {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestParsePolicies(t *testing.T) {
	const exp = `{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00.000Z"}}`
	many := "[" + strings.Repeat(exp+",", 10) + exp + "]"
	for _, tc := range []struct {
		text string
		want error
	}{
		{"", nil},
		{"[" + exp + "]", nil},
		{`[{"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"15","Unit":"Days"}}]`, nil},
		{"{}", errPolicyAttribute},
		{`[{"Type":"Expiration"}]`, errPolicyAttribute},
		{`[{"Type":"Rotation","Attributes":{}}]`, errPolicyType},
		{"[" + exp + "," + exp + "]", errIncompatiblePolicy},
		{many, errPoliciesLimit},
	} {
		got, err := parsePolicies(tc.text)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("parsePolicies(%.40q): %v, want %v", tc.text, err, tc.want)
		}
		if tc.text == "["+exp+"]" && (len(got) != 1 || got[0].Type != "Expiration" || got[0].Text != exp) {
			t.Errorf("policies: %+v", got)
		}
	}
}
