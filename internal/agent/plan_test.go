package agent

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/internal/agentproto"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/runtime"
)

func kv(name, value string) ecstypes.KeyValuePair {
	return ecstypes.KeyValuePair{Name: awsapi.String(name), Value: awsapi.String(value)}
}

func TestPlanContainerSpec(t *testing.T) {
	cd := cdef("app", func(cd *ecstypes.ContainerDefinition) {
		cd.Command = []string{"serve"}
		cd.EntryPoint = []string{"/bin/app"}
		cd.WorkingDirectory = awsapi.String("/srv")
		cd.User = awsapi.String("1000")
		cd.Environment = []ecstypes.KeyValuePair{kv("A", "1"), kv("B", "2"), kv("AWS_REGION", "eu-west-3")}
		cd.DockerLabels = map[string]string{"team": "x", LabelTaskID: "forged", LabelECSCluster: "forged"}
		cd.Memory = awsapi.Int32(256)
		cd.MemoryReservation = awsapi.Int32(128)
		cd.Hostname = awsapi.String("ignored-in-awsvpc")
		cd.LinuxParameters = &ecstypes.LinuxParameters{InitProcessEnabled: awsapi.Bool(true), SharedMemorySize: awsapi.Int32(64),
			Tmpfs: []ecstypes.Tmpfs{{ContainerPath: awsapi.String("/tmp"), Size: awsapi.Int32(16), MountOptions: []string{"noexec"}}}}
		cd.ReadonlyRootFilesystem = awsapi.Bool(true)
		cd.Ulimits = []ecstypes.Ulimit{{Name: awsapi.String("nofile"), SoftLimit: awsapi.Int32(1024), HardLimit: awsapi.Int32(4096)}}
		cd.SystemControls = []ecstypes.SystemControl{{Namespace: awsapi.String("net.core.somaxconn"), Value: awsapi.String("1024")}}
		cd.PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(80)}}
		cd.LogConfiguration = &ecstypes.LogConfiguration{LogDriver: awsapi.String("json-file"), Options: map[string]string{"max-size": "10m"}}
		cd.Interactive = awsapi.Bool(true)
		cd.PseudoTerminal = awsapi.Bool(true)
	})
	dt := desiredTask("", cd)
	dt.Spec.Overrides = &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
		Name: awsapi.String("app"), Command: []string{"migrate"}, Environment: []ecstypes.KeyValuePair{kv("B", "override"), kv("C", "3")},
	}}}
	p := planOf(dt)
	if p.Invalid != "" {
		t.Fatalf("invalid: %s", p.Invalid)
	}
	if p.NetworkMode != "awsvpc" || !p.Fargate || p.Interface == nil || p.Interface.Address.String() != "169.254.172.5/22" || p.Resources != (runtime.TaskResources{CPUUnits: 512, MemoryMiB: 1024}) {
		t.Errorf("plan = %+v", p)
	}
	if p.Holder.Name != "ecs-web-3-internalecspause-0123456789abcdef0123" || p.Holder.Hostname != "ip-169-254-172-5.ec2.internal" || p.Holder.Labels[LabelRole] != RoleHolder ||
		p.Holder.Labels[LabelECSContainer] != holderContainerName {
		t.Errorf("holder = %+v", p.Holder)
	}
	// The task resolves through its VPC's resolver.
	if !slices.Equal(p.Holder.DNSServers, []string{"169.254.172.2"}) || !slices.Equal(p.Holder.DNSSearch, []string{"ec2.internal"}) {
		t.Errorf("holder DNS = %v search %v", p.Holder.DNSServers, p.Holder.DNSSearch)
	}
	cp := p.Containers[0]
	s := cp.Spec
	if s.Name != "ecs-web-3-app-0123456789abcdef0123" {
		t.Errorf("name = %s", s.Name)
	}
	if s.Image != "registry.local/img-app" || cp.DefinitionImage != "img-app" {
		t.Errorf("image = %s / %s", s.Image, cp.DefinitionImage)
	}
	if !slices.Equal(s.Cmd, []string{"migrate"}) || !slices.Equal(s.Entrypoint, []string{"/bin/app"}) || s.WorkingDir != "/srv" || s.User != "1000" {
		t.Errorf("process = %v %v %s %s", s.Entrypoint, s.Cmd, s.WorkingDir, s.User)
	}
	wantEnv := []string{"A=1", "B=override", "AWS_REGION=eu-west-3", "C=3", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL=http://169.254.170.2",
		"ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/" + cp.ID,
		"ECS_CONTAINER_METADATA_URI=http://169.254.170.2/v3/" + cp.ID,
		"ECS_AGENT_URI=http://169.254.170.2/api/" + cp.ID,
		"AWS_EXECUTION_ENV=AWS_ECS_FARGATE"}
	if !slices.Equal(s.Env, wantEnv) {
		t.Errorf("env =\n%v\nwant\n%v", s.Env, wantEnv)
	}
	for _, e := range s.Env {
		if strings.HasPrefix(e, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
			t.Errorf("credentials endpoint injected: %s", e)
		}
	}
	wantLabels := map[string]string{
		"team":               "x",
		LabelECSCluster:      "arn:aws:ecs:us-east-1:123456789012:cluster/default",
		LabelECSContainer:    "app",
		LabelECSTaskARN:      dt.ARN,
		LabelECSTaskFamily:   "web",
		LabelECSTaskRevision: "3",
		LabelNodeID:          "node1",
		LabelTaskID:          testTaskID,
		LabelCluster:         "default",
		LabelRole:            RoleContainer,
		LabelContainerID:     cp.ID,
	}
	for k, v := range wantLabels {
		if s.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, s.Labels[k], v)
		}
	}
	if s.Hostname != "" || s.NetworkMode != "" || s.PortBindings != nil {
		t.Errorf("awsvpc container got hostname %q, mode %q, bindings %v", s.Hostname, s.NetworkMode, s.PortBindings)
	}
	if !s.Init || !s.ReadonlyRootfs || !s.Interactive || !s.TTY || s.ShmSizeBytes != 64<<20 || s.Tmpfs["/tmp"] != "size=16m,noexec" {
		t.Errorf("linux parameters: %+v", s)
	}
	if s.MemoryBytes != 256<<20 || s.MemoryReservationBytes != 128<<20 || s.CPUShares != 2 || cp.MemoryMiB != 256 {
		t.Errorf("resources: mem %d res %d shares %d", s.MemoryBytes, s.MemoryReservationBytes, s.CPUShares)
	}
	if len(s.Ulimits) != 1 || s.Ulimits[0] != (runtime.Ulimit{Name: "nofile", Soft: 1024, Hard: 4096}) || s.Sysctls["net.core.somaxconn"] != "1024" {
		t.Errorf("ulimits %v sysctls %v", s.Ulimits, s.Sysctls)
	}
	if s.LogDriver != "json-file" || s.LogOptions["max-size"] != "10m" {
		t.Errorf("log %s %v", s.LogDriver, s.LogOptions)
	}
	if s.StopTimeout != 30*time.Second {
		t.Errorf("stop timeout %s", s.StopTimeout)
	}
	if hc := s.HealthCheck; hc == nil || !slices.Equal(hc.Test, []string{"NONE"}) {
		t.Errorf("without a healthCheck the image's must be disabled: %+v", hc)
	}
}

func TestPlanHealthCheckDefaults(t *testing.T) {
	p := planOf(desiredTask("", cdef("app", withHealthCheck()), cdef("b", func(cd *ecstypes.ContainerDefinition) {
		cd.HealthCheck = &ecstypes.HealthCheck{Command: []string{"CMD", "curl", "-f", "http://localhost/"},
			Interval: awsapi.Int32(10), Timeout: awsapi.Int32(2), Retries: awsapi.Int32(5), StartPeriod: awsapi.Int32(60)}
	})))
	want := runtime.HealthCheck{Test: []string{"CMD-SHELL", "true"}, Interval: 30 * time.Second, Timeout: 5 * time.Second, Retries: 3}
	if got := *p.Containers[0].Spec.HealthCheck; !slices.Equal(got.Test, want.Test) || got.Interval != want.Interval ||
		got.Timeout != want.Timeout || got.Retries != want.Retries || got.StartPeriod != 0 {
		t.Errorf("defaults: %+v", got)
	}
	got := *p.Containers[1].Spec.HealthCheck
	if got.Interval != 10*time.Second || got.Timeout != 2*time.Second || got.Retries != 5 || got.StartPeriod != time.Minute {
		t.Errorf("explicit: %+v", got)
	}
}

func TestPlanNetworkModes(t *testing.T) {
	cd := cdef("web", func(cd *ecstypes.ContainerDefinition) {
		cd.PortMappings = []ecstypes.PortMapping{{ContainerPort: awsapi.Int32(80), HostPort: awsapi.Int32(8080)},
			{ContainerPort: awsapi.Int32(53), Protocol: awsapi.String("udp")},
			{ContainerPortRange: awsapi.String("9000-9001")}}
		cd.Hostname = awsapi.String("web1")
		cd.ExtraHosts = []ecstypes.HostEntry{{Hostname: awsapi.String("db"), IpAddress: awsapi.String("10.0.0.5")}}
		cd.DnsServers = []string{"1.1.1.1"}
		cd.Cpu = awsapi.Int32(512)
	})
	bridge := planOf(desiredTask("bridge", cd))
	s := bridge.Containers[0].Spec
	wantPorts := []runtime.PortBinding{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}, {ContainerPort: 53, Protocol: "udp"},
		{ContainerPort: 9000, Protocol: "tcp"}, {ContainerPort: 9001, Protocol: "tcp"}}
	if s.NetworkMode != "bridge" || !slices.Equal(s.PortBindings, wantPorts) || s.Hostname != "web1" ||
		!slices.Equal(s.ExtraHosts, []string{"db:10.0.0.5"}) || !slices.Equal(s.DNSServers, []string{"1.1.1.1"}) {
		t.Errorf("bridge spec: %+v", s)
	}
	if s.CPUShares != 512 {
		t.Errorf("cpu shares %d", s.CPUShares)
	}
	if !slices.Contains(s.Env, "AWS_EXECUTION_ENV=AWS_ECS_EC2") {
		t.Errorf("env %v", s.Env)
	}
	if bridge.Holder.Name != "" {
		t.Errorf("bridge task got a holder")
	}
	host := planOf(desiredTask("host", cd)).Containers[0].Spec
	if host.NetworkMode != "host" || host.PortBindings != nil || host.Hostname != "" {
		t.Errorf("host spec: %+v", host)
	}
	none := planOf(desiredTask("none", cd)).Containers[0].Spec
	if none.NetworkMode != "none" {
		t.Errorf("none spec: %+v", none)
	}
	def := desiredTask("bridge", cd)
	def.Spec.Definition.NetworkMode = nil
	if p := planOf(def); p.NetworkMode != "bridge" {
		t.Errorf("default network mode %s", p.NetworkMode)
	}
}

func TestPlanRefusals(t *testing.T) {
	secret := func(cd *ecstypes.ContainerDefinition) {
		cd.Secrets = []ecstypes.Secret{{Name: awsapi.String("DB_PASSWORD"), ValueFrom: awsapi.String("arn:aws:secretsmanager:us-east-1:1:secret:db")}}
	}
	for _, tc := range []struct {
		name string
		cd   ecstypes.ContainerDefinition
		want string
	}{
		{"awslogs without a group", cdef("app", logDriver("awslogs")),
			"ResourceInitializationError: failed to validate logger args: must specify a value for log opt 'awslogs-group'"},
		{"awslogs with both multi-line options", cdef("app", awslogs("awslogs-datetime-format", "%Y", "awslogs-multiline-pattern", "^x")),
			"ResourceInitializationError: failed to validate logger args: you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' at the same time"},
		{"awslogs with a bad pattern", cdef("app", awslogs("awslogs-multiline-pattern", "(")),
			"ResourceInitializationError: failed to validate logger args: awslogs could not parse multiline pattern key \"(\": error parsing regexp: missing closing ): `(`"},
		{"awslogs with a bad awslogs-create-group", cdef("app", awslogs("awslogs-create-group", "yes")),
			"ResourceInitializationError: failed to validate logger args: must specify valid value for log opt 'awslogs-create-group': strconv.ParseBool: parsing \"yes\": invalid syntax"},
		{"awslogs is fine", cdef("app", awslogs("awslogs-create-group", "true", "awslogs-datetime-format", "%Y-%m-%d")), ""},
		{"awsfirelens", cdef("app", logDriver("awsfirelens")),
			"ResourceInitializationError: failed to validate logger args: berth has no FireLens log router yet (log driver awsfirelens of container app)"},
		{"secrets are read when the container is created", cdef("app", secret), ""},
		{"repositoryCredentials", cdef("app", func(cd *ecstypes.ContainerDefinition) {
			cd.RepositoryCredentials = &ecstypes.RepositoryCredentials{CredentialsParameter: awsapi.String("arn:aws:secretsmanager:us-east-1:1:secret:reg")}
		}), "ResourceInitializationError: unable to pull secrets or registry auth: berth does not pull from private registries with repositoryCredentials (container app, from arn:aws:secretsmanager:us-east-1:1:secret:reg)"},
		{"environmentFiles", cdef("app", func(cd *ecstypes.ContainerDefinition) {
			cd.EnvironmentFiles = []ecstypes.EnvironmentFile{{Type: awsapi.String("s3"), Value: awsapi.String("arn:aws:s3:::bucket/app.env")}}
		}), "ResourceInitializationError: failed to download env files: berth has no S3 yet (environment file arn:aws:s3:::bucket/app.env of container app)"},
		{"json-file is fine", cdef("app", logDriver("json-file")), ""},
	} {
		p := planOf(desiredTask("", cdef("ok"), tc.cd))
		if p.Invalid != tc.want {
			t.Errorf("%s: invalid = %q\nwant %q", tc.name, p.Invalid, tc.want)
		}
	}
	// Roles never make a plan invalid: they are used when the task runs.
	dt := desiredTask("", cdef("app"))
	dt.Spec.Definition.TaskRoleArn = awsapi.String("arn:aws:iam::1:role/task")
	dt.Spec.Definition.ExecutionRoleArn = awsapi.String("arn:aws:iam::1:role/exec")
	if p := planOf(dt); p.Invalid != "" {
		t.Errorf("roles refused: %s", p.Invalid)
	}
}

func TestPlanVolumes(t *testing.T) {
	dt := desiredTask("", cdef("app", func(cd *ecstypes.ContainerDefinition) {
		cd.MountPoints = []ecstypes.MountPoint{{SourceVolume: awsapi.String("scratch"), ContainerPath: awsapi.String("/scratch")},
			{SourceVolume: awsapi.String("hostdir"), ContainerPath: awsapi.String("/host"), ReadOnly: awsapi.Bool(true)}}
	}), cdef("side", func(cd *ecstypes.ContainerDefinition) {
		cd.VolumesFrom = []ecstypes.VolumeFrom{{SourceContainer: awsapi.String("app"), ReadOnly: awsapi.Bool(true)}}
	}))
	dt.Spec.Definition.Volumes = []ecstypes.Volume{{Name: awsapi.String("scratch")},
		{Name: awsapi.String("hostdir"), Host: &ecstypes.HostVolumeProperties{SourcePath: awsapi.String("/srv/data")}}}
	p := planOf(dt)
	dir := "/var/lib/berth/volumes/" + testTaskID + "/scratch"
	want := []runtime.Mount{{Source: dir, Target: "/scratch"}, {Source: "/srv/data", Target: "/host", ReadOnly: true}}
	if !slices.Equal(p.Containers[0].Spec.Mounts, want) {
		t.Errorf("app mounts %+v", p.Containers[0].Spec.Mounts)
	}
	wantFrom := []runtime.Mount{{Source: dir, Target: "/scratch", ReadOnly: true}, {Source: "/srv/data", Target: "/host", ReadOnly: true}}
	if !slices.Equal(p.Containers[1].Spec.Mounts, wantFrom) {
		t.Errorf("volumesFrom mounts %+v", p.Containers[1].Spec.Mounts)
	}
	if !slices.Equal(p.VolumeDirs, []string{dir}) {
		t.Errorf("volume dirs %v", p.VolumeDirs)
	}
	dt.Spec.Definition.Volumes[0].EfsVolumeConfiguration = &ecstypes.EFSVolumeConfiguration{FileSystemId: awsapi.String("fs-1")}
	if p := planOf(dt); !strings.Contains(p.Invalid, "berth has no EFS yet (volume scratch of container app)") {
		t.Errorf("efs: %q", p.Invalid)
	}
}

func TestPlanContainerIDFallback(t *testing.T) {
	dt := desiredTask("", cdef("app"))
	dt.Spec.Containers = nil
	a, b := planOf(dt).Containers[0].ID, planOf(dt).Containers[0].ID
	if a != b || len(a) != 36 {
		t.Errorf("derived ids %q %q", a, b)
	}
	if awsapi.ARNRegion("arn:aws:ecs:eu-west-1:1:task/c/x", "us-east-1") != "eu-west-1" || awsapi.ARNRegion("bad", "us-east-1") != "us-east-1" {
		t.Error("ARNRegion")
	}
	var empty agentproto.DesiredTask
	empty.ID, empty.Cluster = testTaskID, "default"
	if p := newTaskPlan(empty, testEnv()); p.Invalid == "" {
		t.Error("a task without containers is accepted")
	}
}

func TestPlanTaskRoleCredentials(t *testing.T) {
	env := func(p *taskPlan) map[string]string {
		out := map[string]string{}
		for _, kv := range p.Containers[0].Spec.Env {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = v
		}
		return out
	}
	dt := desiredTask("", cdef("app", func(cd *ecstypes.ContainerDefinition) {
		cd.Environment = []ecstypes.KeyValuePair{kv("AWS_ENDPOINT_URL", "http://example.test")}
	}))
	dt.Spec.Definition.TaskRoleArn = awsapi.String("arn:aws:iam::123456789012:role/app")
	p := planOf(dt)
	uri := env(p)["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
	if p.CredentialsID == "" || uri != "/v2/credentials/"+p.CredentialsID {
		t.Fatalf("credentials URI %q for id %q", uri, p.CredentialsID)
	}
	if got := env(p)["AWS_ENDPOINT_URL"]; got != "http://example.test" {
		t.Fatalf("the task's own AWS_ENDPOINT_URL replaced by %q", got)
	}
	// The id is the same for the task after a restart, and another
	// agent's or task's is different.
	if again := planOf(dt); again.CredentialsID != p.CredentialsID {
		t.Fatal("credentials id not stable")
	}
	other := testEnv()
	other.CredentialsKey = "another token"
	if newTaskPlan(dt, other).CredentialsID == p.CredentialsID {
		t.Fatal("credentials id does not depend on the agent's key")
	}
	dt2 := dt
	dt2.ARN += "x"
	if planOf(dt2).CredentialsID == p.CredentialsID {
		t.Fatal("two tasks share a credentials id")
	}
	// An override's task role counts; without any, no credentials.
	bare := desiredTask("", cdef("app"))
	if p := planOf(bare); p.CredentialsID != "" || env(p)["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] != "" {
		t.Fatal("credentials for a task without a task role")
	}
	bare.Spec.Overrides = &ecstypes.TaskOverride{TaskRoleArn: awsapi.String("arn:aws:iam::123456789012:role/app")}
	if planOf(bare).CredentialsID == "" {
		t.Fatal("an override's task role has no credentials")
	}
}

func TestPlanCredentialsFullURIOnAnotherPort(t *testing.T) {
	dt := desiredTask("", cdef("app"))
	dt.Spec.Definition.TaskRoleArn = awsapi.String("arn:aws:iam::123456789012:role/app")
	env := testEnv()
	env.MetadataBase = "http://169.254.170.2:8080"
	p := newTaskPlan(dt, env)
	want := "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2:8080/v2/credentials/" + p.CredentialsID
	if !slices.Contains(p.Containers[0].Spec.Env, want) {
		t.Fatalf("env %v lacks %s", p.Containers[0].Spec.Env, want)
	}
}
