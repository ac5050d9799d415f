package elbv2

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/gateway/gatewaytest"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	testRegion  = gatewaytest.Region
	testAccount = gatewaytest.AccountID
)

// testEnv is the service behind the real gateway, its SDK client, a clock
// the test moves, and a VPC made directly in EC2's records: 10.0.0.0/16
// with subnets A (us-east-1a), B (us-east-1b) and A2 (us-east-1a again),
// the security group "alb", and another VPC with its own subnet and group.
type testEnv struct {
	t      *testing.T
	elb    *ELBv2
	store  store.Store
	client *sdk.Client
	clock  time.Time

	vpc, otherVPC            ec2state.VPC
	subnetA, subnetB, subnA2 ec2state.Subnet
	otherSubnet              ec2state.Subnet
	sg, otherSG              ec2state.SecurityGroup
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &testEnv{t: t, store: st, clock: time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)}
	e.elb = New(Config{Store: st, AccountID: testAccount, Now: func() time.Time { return e.clock },
		Logger: slog.New(slog.DiscardHandler)})
	e.client = sdk.NewFromConfig(gatewaytest.Start(t, e.elb.Service()))
	e.vpc = e.putVPC("10.0.0.0/16")
	e.subnetA = e.putSubnet(e.vpc, "10.0.1.0/24", "us-east-1a")
	e.subnetB = e.putSubnet(e.vpc, "10.0.2.0/24", "us-east-1b")
	e.subnA2 = e.putSubnet(e.vpc, "10.0.3.0/24", "us-east-1a")
	e.sg = e.putGroup(e.vpc, "alb")
	e.otherVPC = e.putVPC("10.1.0.0/16")
	e.otherSubnet = e.putSubnet(e.otherVPC, "10.1.1.0/24", "us-east-1c")
	e.otherSG = e.putGroup(e.otherVPC, "other")
	return e
}

func (e *testEnv) put(key string, v any) {
	e.t.Helper()
	op, err := store.PutJSON(key, v)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.Txn(context.Background(), store.Txn{Then: []store.Op{op}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) putVPC(cidr string) ec2state.VPC {
	vpc := ec2state.NewVPC(testRegion, testAccount, cidr, e.clock)
	group := ec2state.NewDefaultGroup(vpc, e.clock)
	vpc.DefaultGroupID = group.ID
	e.put(ec2state.VPCKey(testRegion, vpc.ID), vpc)
	e.put(ec2state.GroupKey(testRegion, group.ID), group)
	return vpc
}

func (e *testEnv) putSubnet(vpc ec2state.VPC, cidr, zone string) ec2state.Subnet {
	z, _ := ec2state.ZoneByName(testRegion, zone)
	s := ec2state.Subnet{Region: testRegion, ID: ec2state.NewID(ec2state.SubnetIDPrefix), VPCID: vpc.ID, CIDR: cidr,
		AvailabilityZone: zone, AvailabilityZoneID: z.ID, OwnerID: testAccount, Created: e.clock}
	e.put(ec2state.SubnetKey(testRegion, s.ID), s)
	return s
}

func (e *testEnv) putGroup(vpc ec2state.VPC, name string) ec2state.SecurityGroup {
	g := ec2state.SecurityGroup{Region: testRegion, ID: ec2state.NewID(ec2state.GroupIDPrefix), Name: name,
		Description: name, VPCID: vpc.ID, OwnerID: testAccount, Created: e.clock, Egress: []ec2state.Rule{ec2state.AllTrafficOut()}}
	e.put(ec2state.GroupKey(testRegion, g.ID), g)
	return g
}

// putNode records a berth node, as ECS's agent hub does, and returns its
// EC2 instance id.
func (e *testEnv) putNode(id string, connected bool) string {
	e.put(ecsstate.NodeKey(id), ecsstate.Node{ID: id, Hostname: "host", Clusters: []string{"*"}, Status: "ACTIVE", Connected: connected})
	return ecsstate.EC2InstanceID(id)
}

// createLB makes the article's load balancer, api-alb, in subnets A and B
// with the group "alb".
func (e *testEnv) createLB(name string) types.LoadBalancer {
	e.t.Helper()
	out, err := e.client.CreateLoadBalancer(context.Background(), &sdk.CreateLoadBalancerInput{
		Name: aws.String(name), Subnets: []string{e.subnetA.ID, e.subnetB.ID}, SecurityGroups: []string{e.sg.ID},
		Scheme: types.LoadBalancerSchemeEnumInternetFacing,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.LoadBalancers[0]
}

// createTG makes an HTTP target group of target type ip on port 8080 in
// the test VPC.
func (e *testEnv) createTG(name string) types.TargetGroup {
	e.t.Helper()
	out, err := e.client.CreateTargetGroup(context.Background(), &sdk.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080),
		VpcId: aws.String(e.vpc.ID), TargetType: types.TargetTypeEnumIp,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.TargetGroups[0]
}

// forward is a forward action to one group.
func forward(tgARN *string) []types.Action {
	return []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tgARN}}
}

func (e *testEnv) createListener(lbARN *string, port int32, actions []types.Action) types.Listener {
	e.t.Helper()
	out, err := e.client.CreateListener(context.Background(), &sdk.CreateListenerInput{
		LoadBalancerArn: lbARN, Protocol: types.ProtocolEnumHttp, Port: aws.Int32(port), DefaultActions: actions,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Listeners[0]
}

// health is DescribeTargetHealth of a group's targets, as
// "<id>:<port> <state> <reason>" strings.
func (e *testEnv) health(tgARN *string, targets ...types.TargetDescription) []string {
	e.t.Helper()
	out, err := e.client.DescribeTargetHealth(context.Background(), &sdk.DescribeTargetHealthInput{TargetGroupArn: tgARN, Targets: targets})
	if err != nil {
		e.t.Fatal(err)
	}
	var got []string
	for _, d := range out.TargetHealthDescriptions {
		s := aws.ToString(d.Target.Id) + ":" + strconv.Itoa(int(aws.ToInt32(d.Target.Port))) + " " + string(d.TargetHealth.State)
		if d.TargetHealth.Reason != "" {
			s += " " + string(d.TargetHealth.Reason)
		}
		got = append(got, s)
	}
	return got
}
