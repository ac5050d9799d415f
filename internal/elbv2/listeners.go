package elbv2

import (
	"context"
	"errors"
	"slices"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

// listenerSettings are the settings of CreateListener and ModifyListener,
// checked: what a listener record takes from them.
type listenerSettings struct {
	protocol     string
	port         int32
	sslPolicy    string
	certificates []string
	actions      []elbv2state.Action
}

// checkListener checks the protocol, port, policy and certificates of a
// listener: those given, over cur's for ModifyListener (nil for
// CreateListener). UNVERIFIED: the sentences follow ELBv2's style where no
// capture of the real text was available.
func (e *ELBv2) checkListener(ctx context.Context, cur *elbv2state.Listener, protocol *string, port *int32, sslPolicy *string, certs []elbv2types.Certificate) (listenerSettings, error) {
	var s listenerSettings
	if cur != nil {
		s = listenerSettings{protocol: cur.Protocol, port: cur.Port, sslPolicy: cur.SSLPolicy, certificates: cur.Certificates, actions: cur.DefaultActions}
	}
	if protocol != nil {
		if *protocol != elbv2types.ProtocolEnumHttp && *protocol != elbv2types.ProtocolEnumHttps {
			return s, validation("Listener protocol '%s' must be one of 'HTTPS, HTTP'", *protocol)
		}
		if *protocol != s.protocol && *protocol == elbv2types.ProtocolEnumHttp {
			// A listener made HTTP loses its policy and certificate.
			s.sslPolicy, s.certificates = "", nil
		}
		s.protocol = *protocol
	}
	if port != nil {
		s.port = *port
	}
	switch {
	case s.protocol == "":
		return s, validation("A listener protocol must be specified")
	case s.port == 0:
		return s, validation("A listener port must be specified")
	}
	if s.protocol == elbv2types.ProtocolEnumHttp {
		if sslPolicy != nil || len(certs) > 0 {
			return s, validation("An SSL policy and certificates can be specified only for HTTPS listeners")
		}
		return s, nil
	}
	if p := awsapi.Deref(sslPolicy); p != "" {
		if _, ok := elbv2state.SSLPolicyNamed(p); !ok {
			return s, kindError(errSSLPolicyNotFound, "SSL policy '%s' not found", p)
		}
		s.sslPolicy = p
	}
	if s.sslPolicy == "" {
		s.sslPolicy = elbv2state.DefaultSSLPolicy
	}
	if len(certs) > 0 {
		if len(certs) > 1 {
			return s, validation("Only one certificate, the default, can be specified")
		}
		arn := awsapi.Deref(certs[0].CertificateArn)
		_, err := acmstate.Get(ctx, e.store, region(ctx), arn)
		if errors.Is(err, acmstate.ErrNotFound) {
			return s, kindError(errCertificateNotFound, "Certificate '%s' not found", arn)
		}
		if err != nil {
			return s, err
		}
		// A new default keeps the listener's certificate list.
		list := []string{}
		if len(s.certificates) > 1 {
			list = s.certificates[1:]
		}
		s.certificates = append([]string{arn}, list...)
	}
	if len(s.certificates) == 0 {
		return s, validation("A certificate must be specified for HTTPS listeners")
	}
	return s, nil
}

// useCertificates records in ACM that the load balancer lb uses the
// certificates of its listeners after a change (after, every listener's)
// instead of before.
func (e *ELBv2) useCertificates(ctx context.Context, tx *elbv2state.Tx, lb elbv2state.LoadBalancer, before, after []elbv2state.Listener) error {
	certsOf := func(ls []elbv2state.Listener) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Certificates...)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	was, is := certsOf(before), certsOf(after)
	for _, arn := range slices.Concat(was, is) {
		using, used := slices.Contains(is, arn), slices.Contains(was, arn)
		if using == used {
			continue
		}
		compares, ops, err := acmstate.UseOps(ctx, e.store, lb.Region, arn, lb.ARN, using)
		if errors.Is(err, acmstate.ErrNotFound) {
			return kindError(errCertificateNotFound, "Certificate '%s' not found", arn)
		}
		if err != nil {
			return err
		}
		tx.Include(compares, ops)
	}
	return nil
}

// replaceListener is listeners with l in place of the one of its id, or
// added.
func replaceListener(listeners []elbv2state.Listener, l elbv2state.Listener) []elbv2state.Listener {
	out := slices.DeleteFunc(slices.Clone(listeners), func(o elbv2state.Listener) bool { return o.ID == l.ID })
	return append(out, l)
}

func (e *ELBv2) createListener(ctx context.Context, in *elbv2types.CreateListenerInput) (*elbv2types.CreateListenerOutput, error) {
	if len(in.AlpnPolicy) > 0 {
		return nil, unsupported("ALPN policies (a network load balancer's)")
	}
	if m := in.MutualAuthentication; m != nil && awsapi.Deref(m.Mode) != "" && awsapi.Deref(m.Mode) != "off" {
		return nil, unsupported("mutual TLS authentication")
	}
	s, err := e.checkListener(ctx, nil, in.Protocol, in.Port, in.SslPolicy, in.Certificates)
	if err != nil {
		return nil, err
	}
	if s.actions, err = parseActions(in.DefaultActions, listenerScope{protocol: s.protocol, port: s.port}); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	rg := region(ctx)
	var out elbv2state.Listener
	err = elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		lb, err := elbv2state.ReadLoadBalancer(ctx, tx, rg, awsapi.Deref(in.LoadBalancerArn))
		if err != nil {
			return err
		}
		listeners, err := elbv2state.ReadAll[elbv2state.Listener](ctx, tx, elbv2state.LoadBalancerListeners(rg, lb.ID))
		if err != nil {
			return err
		}
		id := elbv2state.NewID()
		l := elbv2state.Listener{
			Region: rg, ID: id, ARN: elbv2state.ListenerARN(lb.Ref(), id),
			LoadBalancerName: lb.Name, LoadBalancerID: lb.ID, LoadBalancerARN: lb.ARN,
			Protocol: s.protocol, Port: s.port, SSLPolicy: s.sslPolicy, Certificates: s.certificates,
			DefaultActions: s.actions, DefaultRuleID: elbv2state.NewID(), Tags: tags, Created: e.now().UTC(),
		}
		if i := slices.IndexFunc(listeners, func(o elbv2state.Listener) bool { return o.Port == s.port }); i >= 0 {
			// As AWS: the same listener again is the one there.
			if sameListener(listeners[i], l) {
				out = listeners[i]
				return nil
			}
			return kindError(errDuplicateListener, "A listener already exists on this port for this load balancer '%s'", lb.ARN)
		}
		if err := linkTargetGroups(ctx, tx, lb, l.ARN, nil, targetGroupsOf(l.DefaultActions)); err != nil {
			return err
		}
		if err := e.useCertificates(ctx, tx, lb, listeners, append(listeners, l)); err != nil {
			return err
		}
		out = l
		if err := tx.Put(elbv2state.ListenerKey(rg, lb.ID, id), l); err != nil {
			return err
		}
		// The load balancer's deletion compares its record: a listener
		// made meanwhile makes it read again.
		return tx.Put(elbv2state.LoadBalancerKey(rg, lb.Name), lb)
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.CreateListenerOutput{Listeners: []elbv2types.Listener{toListener(out)}}, nil
}

// sameListener reports whether two listeners have the same settings, which
// makes CreateListener's second call answer the first's listener.
func sameListener(a, b elbv2state.Listener) bool {
	return a.Protocol == b.Protocol && a.Port == b.Port && a.SSLPolicy == b.SSLPolicy &&
		slices.Equal(a.Certificates, b.Certificates) && sameActions(a.DefaultActions, b.DefaultActions)
}

func sameActions(a, b []elbv2state.Action) bool {
	return slices.EqualFunc(a, b, func(x, y elbv2state.Action) bool {
		return x.Type == y.Type && x.Order == y.Order && x.TargetGroupARN == y.TargetGroupARN &&
			equalPtr(x.Redirect, y.Redirect) && equalPtr(x.FixedResponse, y.FixedResponse) &&
			(x.Forward == nil) == (y.Forward == nil) && (x.Forward == nil ||
			(x.Forward.Stickiness == y.Forward.Stickiness && x.Forward.StickinessSeconds == y.Forward.StickinessSeconds &&
				slices.Equal(x.Forward.TargetGroups, y.Forward.TargetGroups)))
	})
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func (e *ELBv2) describeListeners(ctx context.Context, in *elbv2types.DescribeListenersInput) (*elbv2types.DescribeListenersOutput, error) {
	switch {
	case in.LoadBalancerArn == nil && len(in.ListenerArns) == 0:
		return nil, validation("You must specify either listener ARNs or a load balancer ARN")
	case in.LoadBalancerArn != nil && len(in.ListenerArns) > 0:
		return nil, validation("Listener ARNs and a load balancer ARN cannot be specified at the same time") // UNVERIFIED wording
	}
	rg := region(ctx)
	var picked []elbv2state.Listener
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		picked = nil
		if in.LoadBalancerArn != nil {
			lb, err := elbv2state.ReadLoadBalancer(ctx, tx, rg, *in.LoadBalancerArn)
			if err != nil {
				return err
			}
			picked, err = elbv2state.ReadAll[elbv2state.Listener](ctx, tx, elbv2state.LoadBalancerListeners(rg, lb.ID))
			// Oldest first: not by port, as the aws CLI's example lists a
			// load balancer's 443 listener before its 80 one. UNVERIFIED:
			// that ELB's order is their creation's.
			slices.SortStableFunc(picked, func(a, b elbv2state.Listener) int { return a.Created.Compare(b.Created) })
			return err
		}
		for _, arn := range in.ListenerArns {
			l, err := elbv2state.ReadListener(ctx, tx, rg, arn)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(picked, func(o elbv2state.Listener) bool { return o.ID == l.ID }) {
				picked = append(picked, l)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(picked, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &elbv2types.DescribeListenersOutput{Listeners: []elbv2types.Listener{}, NextMarker: next}
	for _, l := range page {
		out.Listeners = append(out.Listeners, toListener(l))
	}
	return out, nil
}

func (e *ELBv2) modifyListener(ctx context.Context, in *elbv2types.ModifyListenerInput) (*elbv2types.ModifyListenerOutput, error) {
	if len(in.AlpnPolicy) > 0 {
		return nil, unsupported("ALPN policies (a network load balancer's)")
	}
	if m := in.MutualAuthentication; m != nil && awsapi.Deref(m.Mode) != "" && awsapi.Deref(m.Mode) != "off" {
		return nil, unsupported("mutual TLS authentication")
	}
	rg := region(ctx)
	var out elbv2state.Listener
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		cur, err := elbv2state.ReadListener(ctx, tx, rg, awsapi.Deref(in.ListenerArn))
		if err != nil {
			return err
		}
		lb, err := elbv2state.ReadLoadBalancer(ctx, tx, rg, cur.LoadBalancerARN)
		if err != nil {
			return err
		}
		s, err := e.checkListener(ctx, &cur, in.Protocol, in.Port, in.SslPolicy, in.Certificates)
		if err != nil {
			return err
		}
		if in.DefaultActions != nil {
			if s.actions, err = parseActions(in.DefaultActions, listenerScope{protocol: s.protocol, port: s.port}); err != nil {
				return err
			}
		}
		listeners, err := elbv2state.ReadAll[elbv2state.Listener](ctx, tx, elbv2state.LoadBalancerListeners(rg, lb.ID))
		if err != nil {
			return err
		}
		if slices.ContainsFunc(listeners, func(o elbv2state.Listener) bool { return o.ID != cur.ID && o.Port == s.port }) {
			return kindError(errDuplicateListener, "A listener already exists on this port for this load balancer '%s'", lb.ARN)
		}
		l := cur
		l.Protocol, l.Port, l.SSLPolicy, l.Certificates, l.DefaultActions = s.protocol, s.port, s.sslPolicy, s.certificates, s.actions
		if err := linkTargetGroups(ctx, tx, lb, l.ARN, targetGroupsOf(cur.DefaultActions), targetGroupsOf(l.DefaultActions)); err != nil {
			return err
		}
		if err := e.useCertificates(ctx, tx, lb, listeners, replaceListener(listeners, l)); err != nil {
			return err
		}
		out = l
		return tx.Put(elbv2state.ListenerKey(rg, lb.ID, l.ID), l)
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.ModifyListenerOutput{Listeners: []elbv2types.Listener{toListener(out)}}, nil
}

func (e *ELBv2) deleteListener(ctx context.Context, in *elbv2types.DeleteListenerInput) (*elbv2types.DeleteListenerOutput, error) {
	rg := region(ctx)
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		l, err := elbv2state.ReadListener(ctx, tx, rg, awsapi.Deref(in.ListenerArn))
		if err != nil {
			return err
		}
		lb, err := elbv2state.ReadLoadBalancer(ctx, tx, rg, l.LoadBalancerARN)
		if err != nil {
			return err
		}
		listeners, err := elbv2state.ReadAll[elbv2state.Listener](ctx, tx, elbv2state.LoadBalancerListeners(rg, lb.ID))
		if err != nil {
			return err
		}
		rest := slices.DeleteFunc(slices.Clone(listeners), func(o elbv2state.Listener) bool { return o.ID == l.ID })
		if err := e.useCertificates(ctx, tx, lb, listeners, rest); err != nil {
			return err
		}
		return removeListener(ctx, tx, l)
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.DeleteListenerOutput{}, nil
}

// removeListener deletes a listener and its rules, and makes the target
// groups they forwarded to forget them.
func removeListener(ctx context.Context, tx *elbv2state.Tx, l elbv2state.Listener) error {
	rules, err := elbv2state.ReadAll[elbv2state.Rule](ctx, tx, elbv2state.ListenerRules(l.Region, l.ID))
	if err != nil {
		return err
	}
	for _, r := range rules {
		if err := unlinkTargetGroups(ctx, tx, l.Region, r.ARN, targetGroupsOf(r.Actions)); err != nil {
			return err
		}
		tx.Delete(elbv2state.RuleKey(l.Region, l.ID, r.ID))
	}
	if err := unlinkTargetGroups(ctx, tx, l.Region, l.ARN, targetGroupsOf(l.DefaultActions)); err != nil {
		return err
	}
	tx.Delete(elbv2state.ListenerKey(l.Region, l.LoadBalancerID, l.ID))
	return nil
}

func (e *ELBv2) describeSSLPolicies(ctx context.Context, in *elbv2types.DescribeSSLPoliciesInput) (*elbv2types.DescribeSSLPoliciesOutput, error) {
	var picked []elbv2state.SSLPolicy
	switch t := awsapi.Deref(in.LoadBalancerType); {
	case len(in.Names) > 0:
		for _, name := range in.Names {
			p, ok := elbv2state.SSLPolicyNamed(name)
			if !ok {
				return nil, kindError(errSSLPolicyNotFound, "SSL policy '%s' not found", name)
			}
			picked = append(picked, p)
		}
	case t == "" || t == elbv2types.LoadBalancerTypeEnumApplication || t == elbv2types.LoadBalancerTypeEnumNetwork:
		picked = elbv2state.SSLPolicies
	}
	page, next, err := paginate(picked, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &elbv2types.DescribeSSLPoliciesOutput{SslPolicies: []elbv2types.SslPolicy{}, NextMarker: next}
	for _, p := range page {
		sp := elbv2types.SslPolicy{
			Name: awsapi.String(p.Name), SslProtocols: p.Protocols,
			SupportedLoadBalancerTypes: []string{elbv2types.LoadBalancerTypeEnumApplication, elbv2types.LoadBalancerTypeEnumNetwork},
		}
		for i, c := range p.Ciphers {
			sp.Ciphers = append(sp.Ciphers, elbv2types.Cipher{Name: awsapi.String(c), Priority: awsapi.Int32(int32(i + 1))})
		}
		out.SslPolicies = append(out.SslPolicies, sp)
	}
	return out, nil
}
