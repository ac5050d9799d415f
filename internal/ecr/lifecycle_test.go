package ecr

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/berth/berth/internal/ecr/ecrtypes"
)

// articlePolicy is the article's put-lifecycle-policy text, verbatim.
const articlePolicy = `{
        "rules": [
            {
                "rulePriority": 1,
                "description": "Keep last 10 tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPrefixList": ["v"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 10
                },
                "action": {"type": "expire"}
            },
            {
                "rulePriority": 2,
                "description": "Delete untagged images older than 1 day",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 1
                },
                "action": {"type": "expire"}
            }
        ]
    }`

func TestParseArticlePolicy(t *testing.T) {
	p, err := ParseLifecyclePolicy(articlePolicy)
	if err != nil {
		t.Fatal(err)
	}
	want := &LifecyclePolicy{Rules: []LifecycleRule{
		{Priority: 1, Description: "Keep last 10 tagged images", Action: LifecycleAction{Type: "expire"},
			Selection: LifecycleSelection{TagStatus: "tagged", TagPrefixList: []string{"v"}, CountType: "imageCountMoreThan", CountNumber: 10, StorageClass: "standard"}},
		{Priority: 2, Description: "Delete untagged images older than 1 day", Action: LifecycleAction{Type: "expire"},
			Selection: LifecycleSelection{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: 1, StorageClass: "standard"}},
	}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("parsed:\n got %+v\nwant %+v", p, want)
	}
}

// policy builds a policy text from rule JSON, padded past the 100-character
// minimum.
func policy(rules ...string) string {
	return `{"rules":[` + strings.Join(rules, ",") + `]}` + strings.Repeat(" ", 100)
}

func rule(priority int, selection string, action ...string) string {
	act := `{"type":"expire"}`
	if len(action) > 0 {
		act = action[0]
	}
	return fmt.Sprintf(`{"rulePriority":%d,"selection":%s,"action":%s}`, priority, selection, act)
}

const (
	selTagged   = `{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":3}`
	selUntagged = `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1}`
	selAny      = `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":100}`
)

func TestLifecyclePolicyValidation(t *testing.T) {
	prefix := "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: "
	tests := []struct {
		name, text string
		// detail is the message after the prefix, without the closing quote;
		// "" means the policy is valid.
		detail string
	}{
		{"article", articlePolicy, ""},
		{"priorities need not be sequential", policy(rule(5, selTagged), rule(10, selUntagged), rule(20, selAny)), ""},
		{"pattern list", policy(rule(1, `{"tagStatus":"tagged","tagPatternList":["prod*-*-*-*"],"countType":"imageCountMoreThan","countNumber":1}`)), ""},
		{"storage classes are separate", policy(rule(1, selUntagged), rule(2, `{"tagStatus":"untagged","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}`)), ""},
		{"transition", policy(rule(1, `{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":90}`, `{"type":"transition","targetStorageClass":"archive"}`)), ""},

		{"not JSON", "{" + strings.Repeat(" ", 120), "Could not map policyString into LifecyclePolicy."},
		{"no rules", `{"rulez":[]}` + strings.Repeat(" ", 100), `object has missing required properties (["rules"])`},
		{"empty rules", policy(), "array is too short: must have at least 1 elements but instance has 0 elements"},
		{"rules not a list", `{"rules":{}}` + strings.Repeat(" ", 100), `instance type (object) does not match any allowed primitive type (allowed: ["array"])`},
		{"missing rulePriority", policy(`{"selection":` + selTagged + `,"action":{"type":"expire"}}`), `object has missing required properties (["rulePriority"])`},
		{"unknown rule property", policy(`{"rulePriority":1,"priority":2,"selection":` + selTagged + `,"action":{"type":"expire"}}`), `object instance has properties which are not allowed by the schema: (["priority"])`},
		{"rulePriority not an integer", policy(`{"rulePriority":"1","selection":` + selTagged + `,"action":{"type":"expire"}}`), `instance type (string) does not match any allowed primitive type (allowed: ["integer"])`},
		{"rulePriority zero", policy(rule(0, selTagged)), "numeric instance is lower than the required minimum (minimum: 1, found: 0)"},
		{"duplicate priority", policy(rule(1, selTagged), rule(1, selUntagged)), "rulePriority 1 is used by more than one rule; rule priorities must be unique."},
		{"missing tagStatus", policy(rule(1, `{"countType":"imageCountMoreThan","countNumber":1}`)), `object has missing required properties (["tagStatus"])`},
		{"bad tagStatus", policy(rule(1, `{"tagStatus":"TAGGED","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1}`)), `instance value ("TAGGED") not found in enum (possible values: ["tagged","untagged","any"])`},
		{"tagged without lists", policy(rule(1, `{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1}`)), "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED."},
		{"untagged with a list", policy(rule(1, `{"tagStatus":"untagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1}`)), "tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED."},
		{"any with a list", policy(rule(1, `{"tagStatus":"any","tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":1}`)), "tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED."},
		{"both lists", policy(rule(1, `{"tagStatus":"tagged","tagPrefixList":["v"],"tagPatternList":["v*"],"countType":"imageCountMoreThan","countNumber":1}`)), "tagPrefixList and tagPatternList cannot both be specified in one rule."},
		{"five wildcards", policy(rule(1, `{"tagStatus":"tagged","tagPatternList":["*a*b*c*d*"],"countType":"imageCountMoreThan","countNumber":1}`)), "tagPatternList entry '*a*b*c*d*' has 5 wildcards; at most 4 are allowed."},
		{"any not lowest", policy(rule(1, selAny), rule(2, selTagged)), "Rule for tagStatus=ANY must have the lowest priority per storage class"},
		{"two untagged", policy(rule(1, selUntagged), rule(2, selUntagged)), "Only one rule can select Untagged images per storage class"},
		{"countNumber zero", policy(rule(1, `{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":0}`)), "numeric instance is lower than the required minimum (minimum: 1, found: 0)"},
		{"countNumber negative", policy(rule(1, `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":-3}`)), "numeric instance is lower than the required minimum (minimum: 1, found: -3)"},
		{"sinceImagePushed without unit", policy(rule(1, `{"tagStatus":"untagged","countType":"sinceImagePushed","countNumber":1}`)), "countUnit must be specified when countType=sinceImagePushed."},
		{"imageCountMoreThan with unit", policy(rule(1, `{"tagStatus":"untagged","countType":"imageCountMoreThan","countUnit":"days","countNumber":1}`)), "countUnit cannot be specified when countType=imageCountMoreThan."},
		{"bad countUnit", policy(rule(1, `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"hours","countNumber":1}`)), `instance value ("hours") not found in enum (possible values: ["days"])`},
		{"bad countType", policy(rule(1, `{"tagStatus":"untagged","countType":"olderThan","countNumber":1}`)), `instance value ("olderThan") not found in enum (possible values: ["imageCountMoreThan","sinceImagePushed","sinceImagePulled","sinceImageTransitioned"])`},
		{"bad action", policy(rule(1, selTagged, `{"type":"delete"}`)), `instance value ("delete") not found in enum (possible values: ["expire","transition"])`},
		{"transition without target", policy(rule(1, selTagged, `{"type":"transition"}`)), "targetStorageClass must be specified when action type is transition."},
		{"too many rules", policy(manyRules(51)...), "A lifecycle policy can have at most 50 rules; found 51."},
		{"archive then expire", policy(rule(1, `{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":30}`, `{"type":"transition","targetStorageClass":"archive"}`),
			rule(2, `{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":365}`)), ""},
		{"expire by pull age", policy(rule(1, `{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":90}`)), "countType=sinceImagePulled can only be used with action type transition."},
		{"transition by archive age", policy(rule(1, `{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}`, `{"type":"transition","targetStorageClass":"archive"}`)), "countType=sinceImageTransitioned can only be used with action type expire."},
		{"archive age without storage class", policy(rule(1, `{"tagStatus":"any","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}`)), "storageClass=archive must be specified when countType=sinceImageTransitioned."},
		{"archive age on standard", policy(rule(1, `{"tagStatus":"any","storageClass":"standard","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}`)), "storageClass=archive must be specified when countType=sinceImageTransitioned."},
		{"archive class by push age", policy(rule(1, `{"tagStatus":"any","storageClass":"archive","countType":"sinceImagePushed","countUnit":"days","countNumber":90}`)), "storageClass=archive can only be specified when countType=sinceImageTransitioned."},
		{"archive minimum", policy(rule(1, `{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":89}`)), "countNumber must be at least 90 when countType=sinceImageTransitioned; found 89."},
		{"four wildcards", policy(rule(1, `{"tagStatus":"tagged","tagPatternList":["*test*1*2*3","test*1*2*3*"],"countType":"imageCountMoreThan","countNumber":1}`)), ""},
		{"wildcards in a second entry", policy(rule(1, `{"tagStatus":"tagged","tagPatternList":["prod*","test*1*2*3*4*5*6"],"countType":"imageCountMoreThan","countNumber":1}`)), "tagPatternList entry 'test*1*2*3*4*5*6' has 6 wildcards; at most 4 are allowed."},
		{"expire with a target", policy(rule(1, selTagged, `{"type":"expire","targetStorageClass":"archive"}`)), "targetStorageClass can only be specified when action type is transition."},
		{"bad target", policy(rule(1, selTagged, `{"type":"transition","targetStorageClass":"glacier"}`)), `instance value ("glacier") not found in enum (possible values: ["archive"])`},
		{"untagged twice in different order", policy(rule(3, selUntagged), rule(1, selTagged), rule(2, `{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":5}`)), "Only one rule can select Untagged images per storage class"},
		{"any with the highest number given first", policy(rule(9, selAny), rule(1, selTagged)), ""},
		{"countNumber not an integer", policy(rule(1, `{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1.5}`)), `instance type (number) does not match any allowed primitive type (allowed: ["integer"])`},
		{"tag list not strings", policy(rule(1, `{"tagStatus":"tagged","tagPrefixList":[1],"countType":"imageCountMoreThan","countNumber":1}`)), `instance type (integer) does not match any allowed primitive type (allowed: ["string"])`},
		{"empty tag list", policy(rule(1, `{"tagStatus":"tagged","tagPrefixList":[],"countType":"imageCountMoreThan","countNumber":1}`)), "array is too short: must have at least 1 elements but instance has 0 elements"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLifecyclePolicy(tc.text)
			if tc.detail == "" {
				if err != nil {
					t.Fatalf("valid policy refused: %v", err)
				}
				return
			}
			wantErr(t, awsError(err), "InvalidParameterException", prefix+tc.detail+"'")
		})
	}
	if _, err := ParseLifecyclePolicy(policy(manyRules(50)...)); err != nil {
		t.Fatalf("50 rules: %v", err)
	}
}

func manyRules(n int) []string {
	rules := make([]string, n)
	for i := range rules {
		rules[i] = rule(i+1, fmt.Sprintf(`{"tagStatus":"tagged","tagPrefixList":["p%d"],"countType":"imageCountMoreThan","countNumber":1}`, i))
	}
	return rules
}

func TestLifecyclePolicyOperations(t *testing.T) {
	f := newFixture(t)
	createRepo(t, f, "my-app")
	_, err := call[ecrtypes.GetLifecyclePolicyResponse](t, f, "GetLifecyclePolicy", &ecrtypes.GetLifecyclePolicyRequest{RepositoryName: str("my-app")})
	wantErr(t, err, "LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository with name 'my-app' in the registry with id '123456789012'")
	_, err = call[ecrtypes.DeleteLifecyclePolicyResponse](t, f, "DeleteLifecyclePolicy", &ecrtypes.DeleteLifecyclePolicyRequest{RepositoryName: str("my-app")})
	wantErr(t, err, "LifecyclePolicyNotFoundException", "")

	put := mustCall[ecrtypes.PutLifecyclePolicyResponse](t, f, "PutLifecyclePolicy", &ecrtypes.PutLifecyclePolicyRequest{RepositoryName: str("my-app"), LifecyclePolicyText: str(articlePolicy)})
	if *put.LifecyclePolicyText != articlePolicy || *put.RepositoryName != "my-app" || *put.RegistryId != testAccount {
		t.Fatalf("put: %+v", put)
	}
	// A bad policy leaves the good one in place.
	_, err = call[ecrtypes.PutLifecyclePolicyResponse](t, f, "PutLifecyclePolicy", &ecrtypes.PutLifecyclePolicyRequest{RepositoryName: str("my-app"), LifecyclePolicyText: str(policy(rule(1, selAny), rule(2, selTagged)))})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = call[ecrtypes.PutLifecyclePolicyResponse](t, f, "PutLifecyclePolicy", &ecrtypes.PutLifecyclePolicyRequest{RepositoryName: str("my-app"), LifecyclePolicyText: str(`{"rules":[]}`)})
	wantErr(t, err, "InvalidParameterException", "Invalid parameter at 'lifecyclePolicyText' failed to satisfy constraint: 'Member must have length greater than or equal to 100'")
	_, err = call[ecrtypes.PutLifecyclePolicyResponse](t, f, "PutLifecyclePolicy", &ecrtypes.PutLifecyclePolicyRequest{RepositoryName: str("nope"), LifecyclePolicyText: str(articlePolicy)})
	wantErr(t, err, "RepositoryNotFoundException", "The repository with name 'nope' does not exist in the registry with id '123456789012'")

	get := mustCall[ecrtypes.GetLifecyclePolicyResponse](t, f, "GetLifecyclePolicy", &ecrtypes.GetLifecyclePolicyRequest{RepositoryName: str("my-app")})
	if *get.LifecyclePolicyText != articlePolicy {
		t.Fatalf("get: %+v", get)
	}
	del := mustCall[ecrtypes.DeleteLifecyclePolicyResponse](t, f, "DeleteLifecyclePolicy", &ecrtypes.DeleteLifecyclePolicyRequest{RepositoryName: str("my-app")})
	if *del.LifecyclePolicyText != articlePolicy {
		t.Fatalf("delete: %+v", del)
	}
	_, err = call[ecrtypes.GetLifecyclePolicyResponse](t, f, "GetLifecyclePolicy", &ecrtypes.GetLifecyclePolicyRequest{RepositoryName: str("my-app")})
	wantErr(t, err, "LifecyclePolicyNotFoundException", "")
}
