package e2e

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
)

// The setups of the examples of Cloud Map (servicediscovery), and of ECS's
// list-services-by-namespace: the namespaces, services and instances the
// documented commands name, made in the example's region, with the
// documented identifiers replaced by berth's.
func init() {
	for id, setup := range cloudMapExampleSetups {
		if _, dup := exampleSetups[id]; dup {
			panic("two setups for " + id)
		}
		exampleSetups[id] = setup
	}
}

// The documentation's namespaces and services, by the ids its commands
// give them.
const (
	// docNamespace is the namespace most commands name, of the type each
	// command needs: get-namespace shows it as the HTTP namespace
	// example-http.com.
	docNamespace = "ns-abcd1234xmpl5678"
	// docService is the service test-service of get-service, which the
	// attribute commands name too; update-service names by it a service
	// with a Route 53 health check.
	docService = "srv-abcd1234xmpl5678"
	// docMyService is myservice of the private DNS namespace example.com,
	// which register-instance, discover-instances and list-services show.
	docMyService = "srv-p5zdwlg5uvvzjita"
	// docCheckedService is a service with a custom health check, whose
	// instances get-instance and get-instances-health-status show.
	docCheckedService = "srv-e4anhexample0004"
)

// cloudMapExampleSetups are the setups of the examples of Cloud Map, as
// exampleSetups'.
var cloudMapExampleSetups = map[string]func(e *exampleEnv){
	// Namespaces.
	"servicediscovery/create-private-dns-namespace#1": func(e *exampleEnv) { e.sub("vpc-1c56417b", e.cloudMapVPC()) },
	"servicediscovery/delete-namespace#1":             func(e *exampleEnv) { e.docHTTPNamespace() },
	"servicediscovery/delete-namespace#2":             func(e *exampleEnv) { e.docHTTPNamespace() },
	"servicediscovery/get-namespace#1":                func(e *exampleEnv) { e.docHTTPNamespace() },
	"servicediscovery/get-namespace#2":                func(e *exampleEnv) { e.docHTTPNamespace() },
	"servicediscovery/update-http-namespace#1":        func(e *exampleEnv) { e.docHTTPNamespace() },
	"servicediscovery/update-http-namespace#2":        func(e *exampleEnv) { e.docHTTPNamespace() },
	"servicediscovery/update-private-dns-namespace#1": func(e *exampleEnv) { e.exampleCom(docNamespace) },
	"servicediscovery/update-private-dns-namespace#2": func(e *exampleEnv) { e.exampleCom(docNamespace) },
	"servicediscovery/update-public-dns-namespace#1": func(e *exampleEnv) {
		e.sdNamespace(docNamespace, namespaceSpec{kind: sdtypes.NamespaceTypeDnsPublic, name: "example-public-dns.com"})
	},
	"servicediscovery/update-public-dns-namespace#2": func(e *exampleEnv) {
		e.sdNamespace(docNamespace, namespaceSpec{kind: sdtypes.NamespaceTypeDnsPublic, name: "example-public-dns.com"})
	},
	"servicediscovery/list-namespaces#1": func(e *exampleEnv) { e.documentedNamespaces() },
	"servicediscovery/list-tags-for-resource#1": func(e *exampleEnv) {
		e.sdNamespace("ns-e4anhexample0004", namespaceSpec{kind: sdtypes.NamespaceTypeHttp, name: "example-http.com",
			tags: []sdtypes.Tag{{Key: aws.String("Project"), Value: aws.String("Zeta")}, {Key: aws.String("Department"), Value: aws.String("Engineering")}}})
	},
	"servicediscovery/get-operation#1": func(e *exampleEnv) {
		out, err := e.cloudMap.CreateHttpNamespace(e.ctx(), &servicediscovery.CreateHttpNamespaceInput{Name: aws.String("example-http.com")})
		e.must(err)
		e.sdOperation(out.OperationId)
		e.sub("abcd1234xmpl5678abcd1234xmpl5678-abcd1234", aws.ToString(out.OperationId))
	},

	// Services.
	"servicediscovery/create-service#1": func(e *exampleEnv) { e.exampleCom("ns-ylexjili4cdxy3xm") },
	"servicediscovery/create-service#2": func(e *exampleEnv) { e.exampleCom(docNamespace) },
	"servicediscovery/delete-service#1": func(e *exampleEnv) { e.docTestService() },
	"servicediscovery/delete-service#2": func(e *exampleEnv) { e.docTestService() },
	"servicediscovery/get-service#1":    func(e *exampleEnv) { e.docTestService() },
	"servicediscovery/get-service#2":    func(e *exampleEnv) { e.docTestService() },
	"servicediscovery/list-services#1":  func(e *exampleEnv) { e.myService(docMyService, false) },
	"servicediscovery/update-service#1": func(e *exampleEnv) { e.checkedPublicService() },
	"servicediscovery/update-service#2": func(e *exampleEnv) { e.checkedPublicService() },
	"servicediscovery/get-service-attributes#1": func(e *exampleEnv) {
		e.serviceAttribute(e.docTestService(), "Port", "80")
	},
	"servicediscovery/get-service-attributes#2": func(e *exampleEnv) {
		e.serviceAttribute(e.docTestService(), "Port", "80")
	},
	"servicediscovery/delete-service-attributes#1": func(e *exampleEnv) {
		e.serviceAttribute(e.docTestService(), "Port", "80")
	},
	"servicediscovery/delete-service-attributes#2": func(e *exampleEnv) {
		e.serviceAttribute(e.docTestService(), "Port", "80")
	},
	"servicediscovery/update-service-attributes#1": func(e *exampleEnv) { e.docTestService() },
	"servicediscovery/update-service-attributes#2": func(e *exampleEnv) { e.docTestService() },

	// Instances: myservice's, as register-instance made them.
	"servicediscovery/register-instance#1": func(e *exampleEnv) { e.myService(docMyService, false) },
	"servicediscovery/register-instance#2": func(e *exampleEnv) { e.myService(docMyService, false) },
	"servicediscovery/deregister-instance#1": func(e *exampleEnv) {
		e.sdInstance(e.myService(docMyService, false), "myservice-53", "172.2.1.3", "808")
	},
	"servicediscovery/deregister-instance#2": func(e *exampleEnv) {
		e.sdInstance(e.myService(docMyService, false), "web-server-01", "203.0.113.15", "80")
	},
	"servicediscovery/discover-instances#1": func(e *exampleEnv) {
		e.sdInstance(e.myService(docMyService, false), "myservice-53", "172.2.1.3", "808")
	},
	"servicediscovery/discover-instances-revision#1": func(e *exampleEnv) {
		e.sdInstance(e.myService(docMyService, false), "myservice-53", "172.2.1.3", "808")
	},
	"servicediscovery/get-instance#2": func(e *exampleEnv) {
		e.sdInstance(e.myService(docMyService, false), "web-server-01", "203.0.113.15", "80")
	},
	"servicediscovery/list-instances#1": func(e *exampleEnv) {
		e.sdInstance(e.myService("srv-qzpwvt2tfqcegapy", false), "i-06bdabbae60f65a4e", "172.2.1.3", "808")
	},
	"servicediscovery/list-instances#2": func(e *exampleEnv) {
		svc := e.myService(docMyService, false)
		e.sdInstance(svc, "web-server-01", "203.0.113.15", "80")
		e.sdInstance(svc, "web-server-02", "203.0.113.16", "80")
	},
	"servicediscovery/get-instances-health-status#2": func(e *exampleEnv) {
		svc := e.myService(docMyService, true)
		e.sdInstance(svc, "web-server-01", "203.0.113.15", "80")
		e.sdInstance(svc, "web-server-02", "203.0.113.16", "80", "AWS_INIT_HEALTH_STATUS", "UNHEALTHY")
	},
	"servicediscovery/update-instance-custom-health-status#2": func(e *exampleEnv) {
		e.sdInstance(e.myService(docMyService, true), "web-server-01", "203.0.113.15", "80")
	},

	// Instances of the service with a custom health check.
	"servicediscovery/get-instance#1": func(e *exampleEnv) {
		e.sdInstance(e.checkedService(), "i-abcd1234", "192.0.2.44", "80", "color", "green", "region", "us-west-2", "stage", "beta")
	},
	"servicediscovery/get-instances-health-status#1": func(e *exampleEnv) {
		svc := e.checkedService()
		e.sdInstance(svc, "i-abcd1234", "192.0.2.44", "80")
		e.sdInstance(svc, "i-abcd1235", "192.0.2.45", "80", "AWS_INIT_HEALTH_STATUS", "UNHEALTHY")
	},
	"servicediscovery/update-instance-custom-health-status#1": func(e *exampleEnv) {
		e.sdInstance(e.checkedService(), "example", "192.0.2.44", "80")
	},

	// ECS: the services of the documented namespace (an HTTP one, as
	// Service Connect's are), registered in Cloud Map services of it.
	"ecs/list-services-by-namespace#1": func(e *exampleEnv) {
		ns := e.sdNamespace("", namespaceSpec{kind: sdtypes.NamespaceTypeHttp, name: "service-connect"})
		td := e.taskDefinition("nginx", 1, taskDefinitionOptions{awsvpc: true})
		e.registeredService("MyCluster", "MyService", td, ns)
		e.registeredService("tutorial", "service-connect-nginx-service", td, ns)
	},
}

// namespaceSpec is a Cloud Map namespace a setup makes.
type namespaceSpec struct {
	kind                                sdtypes.NamespaceType
	name, description, creatorRequestID string
	tags                                []sdtypes.Tag
}

// sdNamespace creates a namespace, a private DNS one in the region's
// default VPC, and returns its id, which the documented one, unless empty,
// becomes.
func (e *exampleEnv) sdNamespace(docID string, ns namespaceSpec) string {
	e.t.Helper()
	name := aws.String(ns.name)
	var description, request *string
	if ns.description != "" {
		description = aws.String(ns.description)
	}
	if ns.creatorRequestID != "" {
		request = aws.String(ns.creatorRequestID)
	}
	var op *string
	switch ns.kind {
	case sdtypes.NamespaceTypeHttp:
		out, err := e.cloudMap.CreateHttpNamespace(e.ctx(), &servicediscovery.CreateHttpNamespaceInput{
			Name: name, Description: description, CreatorRequestId: request, Tags: ns.tags,
		})
		e.must(err)
		op = out.OperationId
	case sdtypes.NamespaceTypeDnsPrivate:
		out, err := e.cloudMap.CreatePrivateDnsNamespace(e.ctx(), &servicediscovery.CreatePrivateDnsNamespaceInput{
			Name: name, Vpc: aws.String(e.cloudMapVPC()), Description: description, CreatorRequestId: request, Tags: ns.tags,
		})
		e.must(err)
		op = out.OperationId
	case sdtypes.NamespaceTypeDnsPublic:
		out, err := e.cloudMap.CreatePublicDnsNamespace(e.ctx(), &servicediscovery.CreatePublicDnsNamespaceInput{
			Name: name, Description: description, CreatorRequestId: request, Tags: ns.tags,
		})
		e.must(err)
		op = out.OperationId
	}
	id := e.sdOperation(op)[string(sdtypes.OperationTargetTypeNamespace)]
	if docID != "" {
		e.sub(docID, id)
	}
	return id
}

// cloudMapVPC is the VPC of the example's private DNS namespaces: the
// region's default one, which the example gives back when it ends.
func (e *exampleEnv) cloudMapVPC() string {
	e.t.Helper()
	if e.net.defaultVPC == nil {
		e.t.Cleanup(e.releaseNetwork)
	}
	return e.defaultNetwork().id
}

// sdOperation waits until a Cloud Map operation has succeeded, and returns
// its targets.
func (e *exampleEnv) sdOperation(id *string) map[string]string {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := e.cloudMap.GetOperation(e.ctx(), &servicediscovery.GetOperationInput{OperationId: id})
		e.must(err)
		switch out.Operation.Status {
		case sdtypes.OperationStatusSuccess:
			return out.Operation.Targets
		case sdtypes.OperationStatusFail:
			e.t.Fatalf("setup: operation %s failed: %s", aws.ToString(id), aws.ToString(out.Operation.ErrorMessage))
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("setup: operation %s is still %s", aws.ToString(id), out.Operation.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sdService creates a service and returns its id, which the documented
// one, unless empty, becomes.
func (e *exampleEnv) sdService(docID string, in *servicediscovery.CreateServiceInput) string {
	e.t.Helper()
	out, err := e.cloudMap.CreateService(e.ctx(), in)
	e.must(err)
	id := aws.ToString(out.Service.Id)
	if docID != "" {
		e.sub(docID, id)
	}
	return id
}

// docHTTPNamespace is get-namespace's HTTP namespace example-http.com.
func (e *exampleEnv) docHTTPNamespace() string {
	e.t.Helper()
	return e.sdNamespace(docNamespace, namespaceSpec{kind: sdtypes.NamespaceTypeHttp, name: "example-http.com",
		description: "Example.com AWS Cloud Map HTTP Namespace", creatorRequestID: "abcd1234-5678-90ab-cdef-xmpl12345678"})
}

// docTestService is get-service's test-service, of docHTTPNamespace.
func (e *exampleEnv) docTestService() string {
	e.t.Helper()
	return e.sdService(docService, &servicediscovery.CreateServiceInput{
		Name: aws.String("test-service"), NamespaceId: aws.String(e.docHTTPNamespace()),
		CreatorRequestId: aws.String("abcd1234-5678-90ab-cdef-xmpl12345678"),
	})
}

// exampleCom is the private DNS namespace example.com that
// create-private-dns-namespace makes.
func (e *exampleEnv) exampleCom(docID string) string {
	e.t.Helper()
	return e.sdNamespace(docID, namespaceSpec{kind: sdtypes.NamespaceTypeDnsPrivate, name: "example.com"})
}

// myService is myservice of example.com as create-service makes it: an A
// record of each instance, and, if custom, a custom health check.
func (e *exampleEnv) myService(docID string, custom bool) string {
	e.t.Helper()
	in := &servicediscovery.CreateServiceInput{
		Name: aws.String("myservice"), NamespaceId: aws.String(e.exampleCom("")),
		DnsConfig: &sdtypes.DnsConfig{RoutingPolicy: sdtypes.RoutingPolicyMultivalue,
			DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(60)}}},
	}
	if custom {
		in.HealthCheckCustomConfig = &sdtypes.HealthCheckCustomConfig{}
	}
	return e.sdService(docID, in)
}

// checkedService is the service with a custom health check that
// get-instance and get-instances-health-status name, in an HTTP namespace.
func (e *exampleEnv) checkedService() string {
	e.t.Helper()
	return e.sdService(docCheckedService, &servicediscovery.CreateServiceInput{
		Name: aws.String("example-service"), NamespaceId: aws.String(e.sdNamespace("", namespaceSpec{kind: sdtypes.NamespaceTypeHttp, name: "example-http.com"})),
		HealthCheckCustomConfig: &sdtypes.HealthCheckCustomConfig{},
	})
}

// checkedPublicService is the service update-service changes: A records
// with a Route 53 health check, in a public DNS namespace.
func (e *exampleEnv) checkedPublicService() string {
	e.t.Helper()
	return e.sdService(docService, &servicediscovery.CreateServiceInput{
		Name: aws.String("myservice"), NamespaceId: aws.String(e.sdNamespace("", namespaceSpec{kind: sdtypes.NamespaceTypeDnsPublic, name: "example-public-dns.com"})),
		DnsConfig:         &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(300)}}},
		HealthCheckConfig: &sdtypes.HealthCheckConfig{Type: sdtypes.HealthCheckTypeHttp, ResourcePath: aws.String("/"), FailureThreshold: aws.Int32(3)},
	})
}

// serviceAttribute sets an attribute of a service.
func (e *exampleEnv) serviceAttribute(service, key, value string) {
	e.t.Helper()
	_, err := e.cloudMap.UpdateServiceAttributes(e.ctx(), &servicediscovery.UpdateServiceAttributesInput{
		ServiceId: aws.String(service), Attributes: map[string]string{key: value},
	})
	e.must(err)
}

// sdInstance registers an instance of a service at an address and port,
// with the other attributes given as key, value pairs, and waits until it
// is registered.
func (e *exampleEnv) sdInstance(service, id, ipv4, port string, keyValues ...string) {
	e.t.Helper()
	attrs := map[string]string{"AWS_INSTANCE_IPV4": ipv4, "AWS_INSTANCE_PORT": port}
	for i := 0; i+1 < len(keyValues); i += 2 {
		attrs[keyValues[i]] = keyValues[i+1]
	}
	out, err := e.cloudMap.RegisterInstance(e.ctx(), &servicediscovery.RegisterInstanceInput{
		ServiceId: aws.String(service), InstanceId: aws.String(id), Attributes: attrs,
	})
	e.must(err)
	e.sdOperation(out.OperationId)
}

// documentedNamespaces makes the namespaces list-namespaces shows: the
// private DNS namespace local and the HTTP namespace My-second-namespace,
// listed in that order. berth lists namespaces in id order, and its ids
// are random: the two are made again until theirs fall in that order.
func (e *exampleEnv) documentedNamespaces() {
	e.t.Helper()
	for range 50 {
		local := e.sdNamespace("", namespaceSpec{kind: sdtypes.NamespaceTypeDnsPrivate, name: "local"})
		second := e.sdNamespace("", namespaceSpec{kind: sdtypes.NamespaceTypeHttp, name: "My-second-namespace", description: "My second namespace"})
		if local < second {
			return
		}
		for _, id := range []string{local, second} {
			out, err := e.cloudMap.DeleteNamespace(e.ctx(), &servicediscovery.DeleteNamespaceInput{Id: aws.String(id)})
			e.must(err)
			e.sdOperation(out.OperationId)
		}
	}
	e.t.Fatal("setup: the namespaces' ids never fell in the documented order")
}

// registeredService creates an ECS service of one awsvpc task, registered
// in a new Cloud Map service of the namespace, and waits until its task
// runs.
func (e *exampleEnv) registeredService(cluster, name, taskDefinition, namespace string) {
	e.t.Helper()
	e.cluster(cluster)
	out, err := e.cloudMap.CreateService(e.ctx(), &servicediscovery.CreateServiceInput{Name: aws.String(name), NamespaceId: aws.String(namespace)})
	e.must(err)
	e.createService(&ecs.CreateServiceInput{
		Cluster: aws.String(cluster), ServiceName: aws.String(name), DesiredCount: aws.Int32(1),
		TaskDefinition: aws.String(taskDefinition), NetworkConfiguration: e.awsvpcConfiguration(),
		ServiceRegistries: []ecstypes.ServiceRegistry{{RegistryArn: out.Service.Arn}},
	}, false)
}
