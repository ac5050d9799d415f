package ecs

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

// validDef is a minimal valid EC2 registration that test cases modify.
func validDef() *ecstypes.RegisterTaskDefinitionRequest {
	return &ecstypes.RegisterTaskDefinitionRequest{
		Family: awsapi.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: awsapi.String("app"), Image: awsapi.String("nginx"), Memory: awsapi.Int32(128),
		}},
	}
}

// validFargateDef is a minimal valid Fargate registration.
func validFargateDef() *ecstypes.RegisterTaskDefinitionRequest {
	in := validDef()
	in.RequiresCompatibilities = []string{"FARGATE"}
	in.NetworkMode = awsapi.String("awsvpc")
	in.Cpu, in.Memory = awsapi.String("256"), awsapi.String("512")
	in.ContainerDefinitions[0].Memory = nil
	return in
}

func TestValidateTaskDefinition(t *testing.T) {
	container := func(in *ecstypes.RegisterTaskDefinitionRequest) *ecstypes.ContainerDefinition {
		return &in.ContainerDefinitions[0]
	}
	second := func(in *ecstypes.RegisterTaskDefinitionRequest, c ecstypes.ContainerDefinition) {
		in.ContainerDefinitions = append(in.ContainerDefinitions, c)
	}
	cases := []struct {
		name    string
		fargate bool
		change  func(in *ecstypes.RegisterTaskDefinitionRequest)
		wantErr string // "" = valid
	}{
		{"valid EC2", false, func(*ecstypes.RegisterTaskDefinitionRequest) {}, ""},
		{"valid Fargate", true, func(*ecstypes.RegisterTaskDefinitionRequest) {}, ""},
		{"blank family", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { in.Family = nil }, "Family can not be blank."},
		{"bad family", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { in.Family = awsapi.String("web app") }, "Family contains invalid characters."},
		{"long family", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { in.Family = awsapi.String(strings.Repeat("a", 256)) }, "Family contains invalid characters."},
		{"no containers", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { in.ContainerDefinitions = nil }, "Container list cannot be empty."},
		{"eleven containers", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			for i := range 10 {
				second(in, ecstypes.ContainerDefinition{Name: awsapi.String(fmt.Sprint("c", i)), Image: awsapi.String("x"), Memory: awsapi.Int32(10)})
			}
		}, "Too many containers."},
		{"no name", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).Name = nil }, "Container.name should not be null or empty."},
		{"bad name", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).Name = awsapi.String("a.b") }, "Container.name contains invalid characters."},
		{"duplicate name", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			second(in, ecstypes.ContainerDefinition{Name: awsapi.String("app"), Image: awsapi.String("x"), Memory: awsapi.Int32(10)})
		}, "Duplicate container name 'app'. Container names must be unique within a task definition."},
		{"no image", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).Image = awsapi.String(" ") }, "Container.image should not be null or empty."},
		{"no essential", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).Essential = awsapi.Bool(false) }, "Task definition doesn't have any essential container."},
		{"no memory EC2", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).Memory = nil },
			"Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."},
		{"task memory covers containers", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).Memory = nil
			in.Memory = awsapi.String("512")
		}, ""},
		{"reservation only", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).Memory = nil
			container(in).MemoryReservation = awsapi.Int32(64)
		}, ""},
		{"memory below 6 MiB", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).Memory = awsapi.Int32(4) }, "Invalid 'memory' setting for container 'app'."},
		{"memory equal reservation", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).MemoryReservation = awsapi.Int32(128) }, ""},
		{"reservation above memory", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).MemoryReservation = awsapi.Int32(256) },
			"Invalid setting for container 'app'. 'memory' must be greater than or equal to 'memoryReservation'."},
		{"container cpu sum", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			in.Cpu = awsapi.String("256")
			container(in).Cpu = awsapi.Int32(512)
		}, "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."},
		{"container memory sum", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			in.Memory = awsapi.String("100")
		}, "The sum of all container 'memory' values cannot be greater than the value of the task 'memory'."},
		{"container reservation sum", true, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).MemoryReservation = awsapi.Int32(400)
			second(in, ecstypes.ContainerDefinition{Name: awsapi.String("side"), Image: awsapi.String("x"), MemoryReservation: awsapi.Int32(200)})
		}, "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'."},
		{"bad task cpu", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { in.Cpu = awsapi.String("lots") }, "Invalid 'cpu' setting for task."},
		{"bad task memory", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { in.Memory = awsapi.String("1 TB") }, "Invalid 'memory' setting for task."},
		{"Fargate bridge", true, func(in *ecstypes.RegisterTaskDefinitionRequest) { in.NetworkMode = nil }, "Fargate only supports network mode 'awsvpc'."},
		{"Fargate no cpu", true, func(in *ecstypes.RegisterTaskDefinitionRequest) { in.Cpu = nil }, "Fargate requires that 'cpu' be defined at the task level."},
		{"Fargate no memory", true, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			in.Memory = nil
			container(in).Memory = awsapi.Int32(128)
		}, "Fargate requires that 'memory' be defined at the task level."},
		{"Fargate bad pair", true, func(in *ecstypes.RegisterTaskDefinitionRequest) { in.Memory = awsapi.String("4096") },
			"No Fargate configuration exists for given values: 256 CPU, 4096 memory. See the Amazon ECS documentation for the valid values."},
		{"Fargate vCPU strings", true, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			in.Cpu, in.Memory = awsapi.String("1 vCPU"), awsapi.String("2GB")
		}, ""},
		{"Fargate privileged", true, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).Privileged = awsapi.Bool(true) },
			"Fargate compatible task definitions do not support privileged"},
		{"EC2 privileged", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).Privileged = awsapi.Bool(true) }, ""},
		{"Fargate stopTimeout", true, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).StopTimeout = awsapi.Int32(121) },
			"Invalid 'stopTimeout' setting for container 'app'. The maximum value for Fargate is 120 seconds."},
		{"EC2 long stopTimeout", false, func(in *ecstypes.RegisterTaskDefinitionRequest) { container(in).StopTimeout = awsapi.Int32(600) }, ""},
		{"awsvpc host port differs", true, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(80), HostPort: awsapi.Int32(8080)}}
		}, "When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
		{"awsvpc host port equal", true, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(80), HostPort: awsapi.Int32(80)}}
		}, ""},
		{"bridge host port differs", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(80), HostPort: awsapi.Int32(8080)}}
		}, ""},
		{"container port 0", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(0)}}
		}, "Invalid 'containerPort' setting for container 'app'."},
		{"container port missing", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).PortMappings = []ecstypes.PortMapping{{HostPort: awsapi.Int32(80)}}
		}, "Invalid 'containerPort' setting for container 'app'."},
		{"host port too big", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(80), HostPort: awsapi.Int32(70000)}}
		}, "Invalid 'hostPort' setting for container 'app'."},
		{"duplicate container port", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(80)}, {ContainerPort: awsapi.Int32(80), Protocol: awsapi.String("tcp")}}
		}, "Invalid 'portMappings' setting for container 'app'. Container port 80/tcp is mapped more than once."},
		{"same port tcp and udp", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(53)}, {ContainerPort: awsapi.Int32(53), Protocol: awsapi.String("udp")}}
		}, ""},
		{"awsvpc port shared between containers", true, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(80)}}
			second(in, ecstypes.ContainerDefinition{Name: awsapi.String("b"), Image: awsapi.String("x"), PortMappings: []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(80)}}})
		}, "Invalid 'portMappings' setting for container 'b'. Port 80/tcp is already used by another container in the task definition."},
		{"health check command", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).HealthCheck = &ecstypes.HealthCheck{Command: []string{"curl", "-f", "localhost"}}
		}, "Invalid 'healthCheck' setting for container 'app'. The command must start with CMD or CMD-SHELL."},
		{"health check interval", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "true"}, Interval: awsapi.Int32(4)}
		}, "Invalid 'healthCheck.interval' setting for container 'app'. The value must be between 5 and 300."},
		{"health check timeout", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "true"}, Timeout: awsapi.Int32(61)}
		}, "Invalid 'healthCheck.timeout' setting for container 'app'. The value must be between 2 and 60."},
		{"health check retries", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "true"}, Retries: awsapi.Int32(0)}
		}, "Invalid 'healthCheck.retries' setting for container 'app'. The value must be between 1 and 10."},
		{"health check start period", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "true"}, StartPeriod: awsapi.Int32(301)}
		}, "Invalid 'healthCheck.startPeriod' setting for container 'app'. The value must be between 0 and 300."},
		{"health check bounds", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "true"}, Interval: awsapi.Int32(300),
				Timeout: awsapi.Int32(2), Retries: awsapi.Int32(10), StartPeriod: awsapi.Int32(0)}
		}, ""},
		{"awslogs missing options", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).LogConfiguration = &ecstypes.LogConfiguration{LogDriver: awsapi.String("awslogs")}
		}, "Log driver awslogs requires options: awslogs-region, awslogs-group"},
		{"awslogs EC2 without prefix", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).LogConfiguration = &ecstypes.LogConfiguration{LogDriver: awsapi.String("awslogs"),
				Options: map[string]string{"awslogs-region": "us-east-1", "awslogs-group": "g"}}
		}, ""},
		{"awslogs Fargate without prefix", true, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).LogConfiguration = &ecstypes.LogConfiguration{LogDriver: awsapi.String("awslogs"),
				Options: map[string]string{"awslogs-region": "us-east-1", "awslogs-group": "g"}}
		}, "Log driver awslogs requires options: awslogs-stream-prefix"},
		{"dependsOn unknown", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).DependsOn = []ecstypes.ContainerDependency{{ContainerName: awsapi.String("db"), Condition: awsapi.String("START")}}
		}, "Invalid 'dependsOn' setting for container 'app'. The dependency container 'db' does not exist in the task definition."},
		{"dependsOn SUCCESS on essential", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			second(in, ecstypes.ContainerDefinition{Name: awsapi.String("init"), Image: awsapi.String("x"), Memory: awsapi.Int32(10)})
			container(in).DependsOn = []ecstypes.ContainerDependency{{ContainerName: awsapi.String("init"), Condition: awsapi.String("SUCCESS")}}
		}, "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"},
		{"dependsOn SUCCESS on non-essential", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			second(in, ecstypes.ContainerDefinition{Name: awsapi.String("init"), Image: awsapi.String("x"), Memory: awsapi.Int32(10), Essential: awsapi.Bool(false)})
			container(in).DependsOn = []ecstypes.ContainerDependency{{ContainerName: awsapi.String("init"), Condition: awsapi.String("COMPLETE")}}
		}, ""},
		{"dependsOn HEALTHY without check", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			second(in, ecstypes.ContainerDefinition{Name: awsapi.String("db"), Image: awsapi.String("x"), Memory: awsapi.Int32(10)})
			container(in).DependsOn = []ecstypes.ContainerDependency{{ContainerName: awsapi.String("db"), Condition: awsapi.String("HEALTHY")}}
		}, "Invalid 'dependsOn' setting for container 'app'. The dependency container 'db' must have a health check to use the HEALTHY condition."},
		{"dependsOn HEALTHY with check", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			second(in, ecstypes.ContainerDefinition{Name: awsapi.String("db"), Image: awsapi.String("x"), Memory: awsapi.Int32(10),
				HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD", "true"}}})
			container(in).DependsOn = []ecstypes.ContainerDependency{{ContainerName: awsapi.String("db"), Condition: awsapi.String("HEALTHY")}}
		}, ""},
		{"dependsOn cycle", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			second(in, ecstypes.ContainerDefinition{Name: awsapi.String("db"), Image: awsapi.String("x"), Memory: awsapi.Int32(10),
				DependsOn: []ecstypes.ContainerDependency{{ContainerName: awsapi.String("app"), Condition: awsapi.String("START")}}})
			container(in).DependsOn = []ecstypes.ContainerDependency{{ContainerName: awsapi.String("db"), Condition: awsapi.String("START")}}
		}, "Invalid 'dependsOn' setting for container 'app'. Container dependencies cannot form a cycle."},
		{"mount of unknown volume", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).MountPoints = []ecstypes.MountPoint{{SourceVolume: awsapi.String("data"), ContainerPath: awsapi.String("/data")}}
		}, "Invalid 'mountPoints' setting for container 'app'. The source volume 'data' is not defined in the task definition."},
		{"mount of volume", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			in.Volumes = []ecstypes.Volume{{Name: awsapi.String("data")}}
			container(in).MountPoints = []ecstypes.MountPoint{{SourceVolume: awsapi.String("data"), ContainerPath: awsapi.String("/data")}}
		}, ""},
		{"Fargate host volume", true, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			in.Volumes = []ecstypes.Volume{{Name: awsapi.String("data"), Host: &ecstypes.HostVolumeProperties{SourcePath: awsapi.String("/srv")}}}
		}, "Fargate compatible task definitions do not support sourcePath"},
		{"ulimit soft above hard", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).Ulimits = []ecstypes.Ulimit{{Name: awsapi.String("nofile"), SoftLimit: awsapi.Int32(2048), HardLimit: awsapi.Int32(1024)}}
		}, "Invalid 'ulimits' setting for container 'app'. The softLimit of 'nofile' cannot be greater than its hardLimit."},
		{"secret without valueFrom", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).Secrets = []ecstypes.Secret{{Name: awsapi.String("X")}}
		}, "Invalid setting for container 'app'. Secrets must have a name and a valueFrom."},
		{"too many tags", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			for i := range 51 {
				in.Tags = append(in.Tags, ecstypes.Tag{Key: awsapi.String(fmt.Sprint("k", i)), Value: awsapi.String("v")})
			}
		}, "The maximum number of tags per resource is 50."},
		{"aws: tag", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			in.Tags = []ecstypes.Tag{{Key: awsapi.String("aws:owner"), Value: awsapi.String("v")}}
		}, "Tag keys beginning with 'aws:' are reserved for AWS use."},
		{"over 64 KiB", false, func(in *ecstypes.RegisterTaskDefinitionRequest) {
			container(in).Command = []string{strings.Repeat("x", 70<<10)}
		}, "Task definition size exceeds the maximum of 64 KiB."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := validDef()
			if tc.fargate {
				in = validFargateDef()
			}
			tc.change(in)
			err := awsError(validateTaskDefinition(in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var apiErr *awsapi.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("want %q, got %v", tc.wantErr, err)
			}
			if apiErr.Code != "ClientException" || apiErr.Message != tc.wantErr {
				t.Fatalf("got %s: %q\nwant ClientException: %q", apiErr.Code, apiErr.Message, tc.wantErr)
			}
		})
	}
}

// TestFargateSizes walks the whole Fargate size table.
func TestFargateSizes(t *testing.T) {
	table := map[int][]int{
		256:   {512, 1024, 2048},
		512:   {1024, 2048, 3072, 4096},
		1024:  {2048, 3072, 4096, 5120, 6144, 7168, 8192},
		2048:  {4096, 8192, 16384},
		4096:  {8192, 9216, 30720},
		8192:  {16384, 20480, 61440},
		16384: {32768, 40960, 122880},
	}
	invalid := map[int][]int{
		256:   {256, 1536, 3072},
		512:   {512, 1536, 5120},
		1024:  {1024, 2560, 9216},
		2048:  {3072, 17408},
		4096:  {7168, 31744},
		8192:  {15360, 18432, 65536},
		16384: {30720, 36864, 131072},
		128:   {512},
		3072:  {8192},
	}
	register := func(cpu, memory int) error {
		in := validFargateDef()
		in.Cpu, in.Memory = awsapi.String(fmt.Sprint(cpu)), awsapi.String(fmt.Sprint(memory))
		return awsError(validateTaskDefinition(in))
	}
	for cpu, memories := range table {
		for _, m := range memories {
			if err := register(cpu, m); err != nil {
				t.Errorf("cpu %d memory %d: %v", cpu, m, err)
			}
		}
	}
	for cpu, memories := range invalid {
		for _, m := range memories {
			err := register(cpu, m)
			want := fmt.Sprintf("ClientException: No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", cpu, m)
			if err == nil || err.Error() != want {
				t.Errorf("cpu %d memory %d: got %v, want %s", cpu, m, err, want)
			}
		}
	}
}
