package provision

import (
	"context"
	"fmt"

	"github.com/berth/berth/internal/awsapi/model"
)

// AWS::Logs::LogGroup: Ref is the group's name; Arn its ARN with ":*".
func init() {
	register("AWS::Logs::LogGroup", &Provisioner{
		NameProperty: "LogGroupName",
		NameLength:   512,
		Find: func(ctx context.Context, c *Call) (Result, bool, error) {
			name := c.name("LogGroupName", 512)
			out, err := c.invoke(ctx, "logs", "DescribeLogGroups", map[string]any{"logGroupNamePrefix": name})
			if err != nil {
				return Result{}, false, err
			}
			groups, _ := out["logGroups"].([]any)
			for _, g := range groups {
				if m, _ := g.(map[string]any); m["logGroupName"] == name {
					return Result{PhysicalID: name, Attributes: map[string]any{"Arn": m["arn"]}}, true, nil
				}
			}
			return Result{}, false, nil
		},
		Create: createLogGroup,
		Update: updateLogGroup,
		Delete: func(ctx context.Context, c *Call) error {
			_, err := c.invoke(ctx, "logs", "DeleteLogGroup", map[string]any{"logGroupName": c.PhysicalID})
			if isNotFound(err, "ResourceNotFoundException") {
				return nil
			}
			return err
		},
	})
}

func createLogGroup(ctx context.Context, c *Call) (Result, error) {
	name := c.name("LogGroupName", 512)
	in, err := apiInput(model.MustLoad("logs"), "CreateLogGroup", c.Properties, nil,
		"LogGroupName", "RetentionInDays", "Tags")
	if err != nil {
		return Result{}, err
	}
	in["logGroupName"] = name
	if tags := c.tagMap(); len(tags) > 0 {
		in["tags"] = tags
	}
	if _, err := c.invoke(ctx, "logs", "CreateLogGroup", in); err != nil {
		return Result{}, err
	}
	if err := c.putRetention(ctx, name); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: name, Attributes: map[string]any{
		"Arn": fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", c.Stack.Region, c.Stack.Account, name)}}, nil
}

func updateLogGroup(ctx context.Context, c *Call) (Result, error) {
	if c.changed("RetentionInDays") {
		if err := c.putRetention(ctx, c.PhysicalID); err != nil {
			return Result{}, err
		}
	}
	if c.changed("Tags") {
		if _, err := c.invoke(ctx, "logs", "TagResource", map[string]any{
			"resourceArn": arnWithoutStar(c.Attributes), "tags": c.tagMap()}); err != nil {
			return Result{}, err
		}
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}

// putRetention applies RetentionInDays, or removes the retention when the
// property is gone (an update that drops it keeps events forever again).
func (c *Call) putRetention(ctx context.Context, name string) error {
	if days, ok := c.Properties["RetentionInDays"]; ok {
		_, err := c.invoke(ctx, "logs", "PutRetentionPolicy", map[string]any{"logGroupName": name, "retentionInDays": days})
		return err
	}
	if _, had := c.Previous["RetentionInDays"]; had {
		_, err := c.invoke(ctx, "logs", "DeleteRetentionPolicy", map[string]any{"logGroupName": name})
		return err
	}
	return nil
}

func arnWithoutStar(attrs map[string]any) string {
	arn, _ := attrs["Arn"].(string)
	if len(arn) > 2 && arn[len(arn)-2:] == ":*" {
		return arn[:len(arn)-2]
	}
	return arn
}
