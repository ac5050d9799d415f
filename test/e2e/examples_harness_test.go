package e2e

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/berth/berth/internal/awsapi/model"
)

// The replay's comparison finds each kind of difference, and only those:
// free strings (lastStatus is one in ECS's model) and numbers may differ,
// enumerations (launchType) and flags may not.
func TestCompareOutputFindsDifferences(t *testing.T) {
	api := model.MustLoad("ecs")
	op := operationOf(api, "describe-tasks")
	doc := `{"tasks":[{"taskArn":"arn:aws:ecs:us-east-1:123456789012:task/c/0123","lastStatus":"RUNNING","launchType":"EC2","cpu":"256",
		"createdAt":"2021-08-11T12:21:26.681000-04:00","enableExecuteCommand":false,"containers":[{"name":"a"}],"tags":[]}],"failures":[]}`
	tests := []struct {
		name, got string
		want      []string
	}{
		{"same shape, other values", `{"tasks":[{"taskArn":"arn:aws:ecs:ex-1:000000000000:task/d/9876","lastStatus":"STOPPED","launchType":"EC2","cpu":"512",
			"createdAt":1.6e9,"enableExecuteCommand":false,"containers":[{"name":"b"}],"tags":[]}],"failures":[]}`, nil},
		{"every kind", `{"tasks":[{"taskArn":"arn:aws:ecs:ex-1:000000000000:task/9876","lastStatus":"PENDING","launchType":"FARGATE","cpu":256,
			"createdAt":"yesterday","enableExecuteCommand":true,"containers":[],"tags":[],"version":1}],"failures":[]}`, []string{
			"extra tasks[].version: berth answers number 1",
			"form tasks[].createdAt: berth's yesterday is not a time",
			"form tasks[].taskArn: documented arn:aws:ecs:<region>:<account>:task/…/…, berth arn:aws:ecs:<region>:<account>:task/…",
			"length tasks[].containers: documented 1, berth 0",
			"type tasks[].cpu: documented string, berth number",
			`value tasks[].enableExecuteCommand: documented false, berth true`,
			`value tasks[].launchType: documented "EC2", berth "FARGATE"`,
		}},
		{"missing", `{"tasks":[]}`, []string{"length tasks: documented 1, berth 0", "missing failures: documented array []"}},
	}
	var docValue any
	if err := json.Unmarshal([]byte(doc), &docValue); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		var got any
		if err := json.Unmarshal([]byte(tc.got), &got); err != nil {
			t.Fatal(err)
		}
		var diffs []string
		for _, d := range compareOutput(api, op, docValue, got) {
			diffs = append(diffs, d.String())
		}
		if !slices.Equal(diffs, tc.want) {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.name, diffs, tc.want)
		}
	}
}

// An .rst example becomes its command words, its output and its files.
func TestExamplesOfRST(t *testing.T) {
	doc := "**Example 1**\n\nThe following example. ::\n\n    aws ecs create-service \\\n        --cluster MyCluster\n" +
		"        --cli-input-json file://<path>/svc.json\n\nContents of ``svc.json``::\n\n    {\"serviceName\": \"web\"}\n\n" +
		"Output::\n\n    {\n        \"service\": {}\n    }\n\n**Example 2**\n\nA pipe. ::\n\n    aws ecs list-clusters | jq .\n"
	got := examplesOf("ecs", "create-service", literalBlocks(doc))
	if len(got) != 2 {
		t.Fatalf("%d examples: %+v", len(got), got)
	}
	first := got[0]
	if first.ID != "ecs/create-service#1" || !slices.Equal(first.Args, []string{"create-service", "--cluster", "MyCluster", "--cli-input-json", "file://<path>/svc.json"}) ||
		first.Output != "{\n    \"service\": {}\n}" || first.Files["svc.json"] != `{"serviceName": "web"}` || first.Unrunnable != "" {
		t.Errorf("first example: %+v", first)
	}
	if got[1].Unrunnable == "" {
		t.Errorf("a pipeline is runnable: %+v", got[1])
	}
	var out any
	if !documentedJSON("{\n    \"a\": \"x\"\n    \"b\": [{}\n {}]\n}", &out) || documentedJSON("{\"a\": }", &out) {
		t.Errorf("documentedJSON does not put back the missing commas alone")
	}
	for intro, want := range map[string]string{"Contents of ``svc.json``::": "svc.json", "Contents of policy.json::": "policy.json", "The content of a document. ::": ""} {
		if name := fileShown(intro); name != want {
			t.Errorf("fileShown(%q) = %q, want %q", intro, name, want)
		}
	}
}
