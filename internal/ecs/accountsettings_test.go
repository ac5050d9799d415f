package ecs

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

const (
	testRoot = "arn:aws:iam::" + apiTestAccount + ":root"
	testUser = "arn:aws:iam::" + apiTestAccount + ":user/MyUser"
)

func accountSettingsOf(out []types.Setting) map[string]string {
	m := map[string]string{}
	for _, s := range out {
		m[string(s.Name)] = aws.ToString(s.Value) + " " + aws.ToString(s.PrincipalArn) + " " + string(s.Type)
	}
	return m
}

// A principal's setting overrides the account's (the root's), which
// overrides ECS's default; the effective list shows each as it applies.
func TestAccountSettingsPrecedence(t *testing.T) {
	e := newAPITestEnv(t)
	list := func(in *sdk.ListAccountSettingsInput) map[string]string {
		t.Helper()
		out, err := e.client.ListAccountSettings(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return accountSettingsOf(out.Settings)
	}
	effective := &sdk.ListAccountSettingsInput{EffectiveSettings: true, PrincipalArn: aws.String(testUser), MaxResults: 10}

	// Nothing set: nothing listed, and every setting at ECS's default.
	if got := list(&sdk.ListAccountSettingsInput{}); len(got) != 0 {
		t.Fatalf("settings before any is set: %v", got)
	}
	all := map[string]string{}
	page := *effective
	for {
		out, err := e.client.ListAccountSettings(e.ctx, &page)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range accountSettingsOf(out.Settings) {
			all[k] = v
		}
		if out.NextToken == nil {
			break
		}
		page.NextToken = out.NextToken
	}
	if len(all) != len(accountSettings) || all["containerInsights"] != "disabled "+testRoot+" user" || all["guardDutyActivate"] != "off "+testRoot+" aws_managed" {
		t.Fatalf("effective defaults: %v", all)
	}

	// The account default, then the user's own.
	def, err := e.client.PutAccountSettingDefault(e.ctx, &sdk.PutAccountSettingDefaultInput{Name: types.SettingNameContainerInsights, Value: aws.String("enhanced")})
	if err != nil || aws.ToString(def.Setting.PrincipalArn) != testRoot {
		t.Fatalf("default: %+v, %v", def, err)
	}
	if got := list(&sdk.ListAccountSettingsInput{EffectiveSettings: true, PrincipalArn: aws.String(testUser), Name: types.SettingNameContainerInsights}); got["containerInsights"] != "enhanced "+testRoot+" user" {
		t.Fatalf("user's effective setting after the default: %v", got)
	}
	if _, err := e.client.PutAccountSetting(e.ctx, &sdk.PutAccountSettingInput{Name: types.SettingNameContainerInsights, Value: aws.String("disabled"), PrincipalArn: aws.String(testUser)}); err != nil {
		t.Fatal(err)
	}
	if got := list(&sdk.ListAccountSettingsInput{PrincipalArn: aws.String(testUser)}); len(got) != 1 || got["containerInsights"] != "disabled "+testUser+" user" {
		t.Fatalf("user's own settings: %v", got)
	}
	if got := list(&sdk.ListAccountSettingsInput{Name: types.SettingNameContainerInsights, Value: aws.String("enhanced")}); len(got) != 1 {
		t.Fatalf("root's settings filtered by value: %v", got)
	}

	// Deleting the user's setting brings the account's back.
	del, err := e.client.DeleteAccountSetting(e.ctx, &sdk.DeleteAccountSettingInput{Name: types.SettingNameContainerInsights, PrincipalArn: aws.String(testUser)})
	if err != nil || aws.ToString(del.Setting.Value) != "disabled" {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	if got := list(&sdk.ListAccountSettingsInput{EffectiveSettings: true, PrincipalArn: aws.String(testUser), Name: types.SettingNameContainerInsights}); got["containerInsights"] != "enhanced "+testRoot+" user" {
		t.Fatalf("after delete: %v", got)
	}
	_, err = e.client.DeleteAccountSetting(e.ctx, &sdk.DeleteAccountSettingInput{Name: types.SettingNameContainerInsights, PrincipalArn: aws.String(testUser)})
	wantAPIErr(t, err, "InvalidParameterException", "")

	// Settings are per region.
	if got, err := e.regionClient("eu-west-1").ListAccountSettings(e.ctx, &sdk.ListAccountSettingsInput{}); err != nil || len(got.Settings) != 0 {
		t.Fatalf("another region's settings: %+v, %v", got, err)
	}
}

// The account's containerInsights setting is the Container Insights of a
// cluster created without its own.
func TestAccountContainerInsightsIsTheClusterDefault(t *testing.T) {
	e := newAPITestEnv(t)
	if _, err := e.client.PutAccountSettingDefault(e.ctx, &sdk.PutAccountSettingDefaultInput{Name: types.SettingNameContainerInsights, Value: aws.String("enabled")}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		settings []types.ClusterSetting
		want     string
	}{
		{"account-default", nil, "enabled"},
		{"own-setting", []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("disabled")}}, "disabled"},
	} {
		out, err := e.client.CreateCluster(e.ctx, &sdk.CreateClusterInput{ClusterName: aws.String(tc.name), Settings: tc.settings})
		if err != nil {
			t.Fatal(err)
		}
		if s := out.Cluster.Settings; len(s) != 1 || aws.ToString(s[0].Value) != tc.want {
			t.Errorf("%s: settings %+v, want containerInsights %s", tc.name, s, tc.want)
		}
	}
}

// Bad input is refused and changes nothing.
func TestAccountSettingsRefusals(t *testing.T) {
	e := newAPITestEnv(t)
	for _, tc := range []struct {
		name  string
		in    *sdk.PutAccountSettingInput
		wants string
	}{
		{"value", &sdk.PutAccountSettingInput{Name: types.SettingNameContainerInsights, Value: aws.String("maybe")}, `Invalid value "maybe" for containerInsights. Valid values are enhanced, enabled, disabled.`},
		{"short ARNs", &sdk.PutAccountSettingInput{Name: types.SettingNameTaskLongArnFormat, Value: aws.String("disabled")}, "berth names every resource in the long ARN format: taskLongArnFormat can't be disabled."},
		{"aws managed", &sdk.PutAccountSettingInput{Name: types.SettingNameGuardDutyActivate, Value: aws.String("on")}, "The guardDutyActivate account setting is managed by AWS and can't be changed."},
		{"root only", &sdk.PutAccountSettingInput{Name: types.SettingNameFargateTaskRetirementWaitPeriod, Value: aws.String("14"), PrincipalArn: aws.String(testUser)}, "The fargateTaskRetirementWaitPeriod account setting can be set only for the root user."},
		{"other account", &sdk.PutAccountSettingInput{Name: types.SettingNameContainerInsights, Value: aws.String("enabled"), PrincipalArn: aws.String("arn:aws:iam::210987654321:user/x")}, "principalArn must be the ARN of the root user, a user or a role of account 123456789012."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.PutAccountSetting(e.ctx, tc.in)
			wantAPIErr(t, err, "InvalidParameterException", tc.wants)
		})
	}
	_, err := e.client.ListAccountSettings(e.ctx, &sdk.ListAccountSettingsInput{Value: aws.String("enabled")})
	wantAPIErr(t, err, "InvalidParameterException", "You must specify a setting name to filter the account settings by value.")
	_, err = e.client.ListAccountSettings(e.ctx, &sdk.ListAccountSettingsInput{MaxResults: 11})
	wantAPIErr(t, err, "InvalidParameterException", "maxResults must be between 1 and 10.")
	if out, err := e.client.ListAccountSettings(e.ctx, &sdk.ListAccountSettingsInput{}); err != nil || len(out.Settings) != 0 {
		t.Fatalf("settings after refusals: %+v, %v", out, err)
	}
}
