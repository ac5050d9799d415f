package ec2

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
)

// testEnv is the service over a real store, called the way the gateway
// calls it (its bound operations), in testRegion unless a test asks for
// another.
type testEnv struct {
	t     *testing.T
	ec2   *EC2
	svc   *awsapi.Service
	store store.Store
	ctx   context.Context
	host  []netip.Prefix
	clock time.Time
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{MaxBatchDelay: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &testEnv{t: t, store: st, clock: time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)}
	e.ec2 = New(Config{
		Store: st, AccountID: testAccount,
		HostNetworks: func(context.Context) ([]netip.Prefix, error) { return e.host, nil },
		Now:          func() time.Time { return e.clock },
		Logger:       slog.New(slog.DiscardHandler),
	})
	e.svc = e.ec2.Service()
	e.ctx = inRegion(testRegion)
	return e
}

func inRegion(region string) context.Context {
	return awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: region, AccountID: testAccount})
}

// call runs an operation as the gateway would, in ctx's region.
func call[Out any](ctx context.Context, e *testEnv, op string, in any) (*Out, error) {
	e.t.Helper()
	o, found := e.svc.Operations[op]
	if !found {
		e.t.Fatalf("no operation %s", op)
	}
	res, err := o.Call(ctx, in)
	if err != nil {
		return nil, err
	}
	out, _ := res.(*Out)
	return out, nil
}

// must runs an operation in testRegion, failing the test on an error.
func must[Out any](e *testEnv, op string, in any) *Out {
	e.t.Helper()
	out, err := call[Out](e.ctx, e, op, in)
	if err != nil {
		e.t.Fatalf("%s: %v", op, err)
	}
	return out
}

// wantError fails the test unless err is the EC2 error code, with message
// unless that is "".
func wantError(t *testing.T, err error, code, message string) {
	t.Helper()
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.Code != code || (message != "" && ae.Message != message) {
		t.Fatalf("got %s %q, want %s %q", ae.Code, ae.Message, code, message)
	}
}

// mapped is err as EC2 answers it, for tests of unbound functions.
func mapped(err error) error {
	if err == nil {
		return nil
	}
	return newErrorTable(slog.New(slog.DiscardHandler)).Map(context.Background(), err)
}

// defaultVPC is the test region's default VPC, made by the first call.
func (e *testEnv) defaultVPC() ec2state.VPC {
	e.t.Helper()
	v, err := e.ec2.EnsureDefaultVPC(e.ctx, testRegion)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *testEnv) createVPC(cidr string) ec2types.Vpc {
	e.t.Helper()
	return *must[ec2types.CreateVpcResult](e, "CreateVpc", &ec2types.CreateVpcRequest{CidrBlock: awsapi.String(cidr)}).Vpc
}

func (e *testEnv) createSubnet(vpc, cidr string) ec2types.Subnet {
	e.t.Helper()
	return *must[ec2types.CreateSubnetResult](e, "CreateSubnet", &ec2types.CreateSubnetRequest{VpcId: awsapi.String(vpc), CidrBlock: awsapi.String(cidr)}).Subnet
}

func (e *testEnv) createGroup(vpc, name string) string {
	e.t.Helper()
	out := must[ec2types.CreateSecurityGroupResult](e, "CreateSecurityGroup", &ec2types.CreateSecurityGroupRequest{
		VpcId: awsapi.OptionalString(vpc), GroupName: awsapi.String(name), Description: awsapi.String(name + " group")})
	return *out.GroupId
}

func (e *testEnv) group(id string) ec2state.SecurityGroup {
	e.t.Helper()
	g, err := store.Get[ec2state.SecurityGroup](e.ctx, e.store, ec2state.GroupKey(testRegion, id))
	if err != nil {
		e.t.Fatal(err)
	}
	return g.Value
}

func (e *testEnv) createInterface(subnet string, groups ...string) ec2state.NetworkInterface {
	e.t.Helper()
	n, err := ec2state.CreateInterface(e.ctx, e.store, ec2state.InterfaceSpec{
		Region: testRegion, Account: testAccount, SubnetID: subnet, Groups: groups,
		Description: "arn:aws:ecs:us-east-1:123456789012:attachment/0b1c2d3e-0000-4000-8000-000000000001",
		RequesterID: ec2state.RequesterECS, Owner: "arn:aws:ecs:us-east-1:123456789012:task/c/0123", Now: e.clock,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func tcp(port int32, cidrs ...string) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: awsapi.String("tcp"), FromPort: awsapi.Int32(port), ToPort: awsapi.Int32(port)}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: awsapi.String(c)})
	}
	return p
}

func flt(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: awsapi.String(name), Values: values}
}

func deleteInterface(e *testEnv, id string) error {
	return ec2state.DeleteInterface(e.ctx, e.store, testRegion, id)
}
