package elbv2

import (
	"context"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/elbv2/elbv2state"
	"github.com/berth/berth/internal/elbv2/elbv2types"
)

// An HTTPS listener's certificates are its default certificate
// (Certificates[0]) and its certificate list (the rest, which may name the
// default again, as ELBv2's may); the listener serves whichever matches a
// client's server name.

// maxListCertificates is how many certificates the certificate lists of a
// load balancer's listeners may hold together, the default ones not
// counted (certificates-per-application-load-balancer).
const maxListCertificates = 25

func (e *ELBv2) addListenerCertificates(ctx context.Context, in *elbv2types.AddListenerCertificatesInput) (*elbv2types.AddListenerCertificatesOutput, error) {
	arns, err := certificateARNs(in.Certificates)
	if err != nil {
		return nil, err
	}
	// A certificate that does not exist is refused as the load balancer
	// starts using it (useCertificates).
	err = e.changeListenerCertificates(ctx, awsapi.Deref(in.ListenerArn), func(l *elbv2state.Listener, listed int) error {
		for _, arn := range arns {
			if !slices.Contains(l.Certificates[1:], arn) {
				l.Certificates = append(l.Certificates, arn)
				listed++
			}
		}
		if listed > maxListCertificates {
			return kindError(errTooManyCertificates, "You've reached the limit on the number of certificates per load balancer")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &elbv2types.AddListenerCertificatesOutput{Certificates: []elbv2types.Certificate{}}
	for _, arn := range arns {
		out.Certificates = append(out.Certificates, elbv2types.Certificate{CertificateArn: awsapi.String(arn), IsDefault: awsapi.Bool(false)})
	}
	return out, nil
}

func (e *ELBv2) removeListenerCertificates(ctx context.Context, in *elbv2types.RemoveListenerCertificatesInput) (*elbv2types.RemoveListenerCertificatesOutput, error) {
	arns, err := certificateARNs(in.Certificates)
	if err != nil {
		return nil, err
	}
	err = e.changeListenerCertificates(ctx, awsapi.Deref(in.ListenerArn), func(l *elbv2state.Listener, _ int) error {
		for _, arn := range arns {
			if !slices.Contains(l.Certificates[1:], arn) && arn == l.Certificates[0] {
				return kindError(errOperationNotPermitted, "The default certificate cannot be removed from a listener; change it with ModifyListener") // UNVERIFIED wording
			}
		}
		l.Certificates = append(l.Certificates[:1], slices.DeleteFunc(slices.Clone(l.Certificates[1:]), func(c string) bool {
			return slices.Contains(arns, c)
		})...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &elbv2types.RemoveListenerCertificatesOutput{}, nil
}

func (e *ELBv2) describeListenerCertificates(ctx context.Context, in *elbv2types.DescribeListenerCertificatesInput) (*elbv2types.DescribeListenerCertificatesOutput, error) {
	var l elbv2state.Listener
	err := elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		var err error
		l, err = elbv2state.ReadListener(ctx, tx, region(ctx), awsapi.Deref(in.ListenerArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	// The list as added, then the default, as ELBv2 shows them.
	var certs []elbv2types.Certificate
	if len(l.Certificates) > 0 {
		for _, arn := range l.Certificates[1:] {
			certs = append(certs, elbv2types.Certificate{CertificateArn: awsapi.String(arn), IsDefault: awsapi.Bool(false)})
		}
		certs = append(certs, elbv2types.Certificate{CertificateArn: awsapi.String(l.Certificates[0]), IsDefault: awsapi.Bool(true)})
	}
	page, next, err := paginate(certs, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	return &elbv2types.DescribeListenerCertificatesOutput{Certificates: append([]elbv2types.Certificate{}, page...), NextMarker: next}, nil
}

// changeListenerCertificates applies edit to an HTTPS listener's
// certificates, given how many the lists of its load balancer's listeners
// hold, and records in ACM what the load balancer uses.
func (e *ELBv2) changeListenerCertificates(ctx context.Context, arn string, edit func(l *elbv2state.Listener, listed int) error) error {
	rg := region(ctx)
	return elbv2state.Run(ctx, e.store, func(tx *elbv2state.Tx) error {
		cur, err := elbv2state.ReadListener(ctx, tx, rg, arn)
		if err != nil {
			return err
		}
		if cur.Protocol != elbv2types.ProtocolEnumHttps || len(cur.Certificates) == 0 {
			return validation("Certificates can be added to and removed from HTTPS listeners only") // UNVERIFIED wording
		}
		lb, err := elbv2state.ReadLoadBalancer(ctx, tx, rg, cur.LoadBalancerARN)
		if err != nil {
			return err
		}
		listeners, err := elbv2state.ReadAll[elbv2state.Listener](ctx, tx, elbv2state.LoadBalancerListeners(rg, lb.ID))
		if err != nil {
			return err
		}
		listed := 0
		for _, o := range listeners {
			if o.ID != cur.ID && len(o.Certificates) > 1 {
				listed += len(o.Certificates) - 1
			}
		}
		l := cur
		l.Certificates = slices.Clone(cur.Certificates)
		if err := edit(&l, listed+len(l.Certificates)-1); err != nil {
			return err
		}
		if err := e.useCertificates(ctx, tx, lb, listeners, replaceListener(listeners, l)); err != nil {
			return err
		}
		return tx.Put(elbv2state.ListenerKey(rg, lb.ID, l.ID), l)
	})
}

// certificateARNs are the ARNs a call names, each given.
func certificateARNs(certs []elbv2types.Certificate) ([]string, error) {
	var out []string
	for _, c := range certs {
		arn := awsapi.Deref(c.CertificateArn)
		if arn == "" {
			return nil, validation("A certificate ARN must be specified") // UNVERIFIED wording
		}
		if !slices.Contains(out, arn) {
			out = append(out, arn)
		}
	}
	return out, nil
}
