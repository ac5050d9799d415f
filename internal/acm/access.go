package acm

import (
	"context"
	"errors"
	"reflect"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
)

// wildcardOperations name no certificate: they need "acm:<operation>" on
// "*", the gateway's default.
var wildcardOperations = []string{"GetAccountConfiguration", "ListCertificates", "PutAccountConfiguration", "SearchCertificates"}

// access is what an ACM call needs in IAM's terms, as the Service
// Authorization Reference lists it: "acm:<operation>" on the certificate
// the call names, with its tags (aws:ResourceTag/<key>, read only when a
// policy tests them) and the tags a call sets (aws:RequestTag/<key>,
// aws:TagKeys); RequestCertificate and a first import on the region's
// "certificate/*", with the request's condition keys.
func (a *ACM) access(ctx context.Context, op string, input any) ([]awsapi.Access, error) {
	acc := awsapi.Access{Action: "acm:" + op}
	switch in := input.(type) {
	case *acmtypes.RequestCertificateRequest:
		acc.Resource = a.anyCertificate(ctx)
		// UNVERIFIED: the values ACM gives its own condition keys.
		c := requestTags(in.Tags)
		set := func(key string, values ...string) {
			if len(values) > 0 && values[0] != "" {
				c[key] = values
			}
		}
		set("acm:DomainNames", append([]string{awsapi.Deref(in.DomainName)}, in.SubjectAlternativeNames...)...)
		set("acm:ValidationMethod", awsapi.Deref(in.ValidationMethod))
		set("acm:KeyAlgorithm", awsapi.Deref(in.KeyAlgorithm))
		set("acm:CertificateAuthority", awsapi.Deref(in.CertificateAuthorityArn))
		if in.Options != nil {
			set("acm:CertificateTransparencyLogging", awsapi.Deref(in.Options.CertificateTransparencyLoggingPreference))
		}
		acc.Context = nonEmpty(c)
		return []awsapi.Access{acc}, nil
	case *acmtypes.ImportCertificateRequest:
		if in.CertificateArn == nil {
			acc.Resource, acc.Context = a.anyCertificate(ctx), nonEmpty(requestTags(in.Tags))
			return []awsapi.Access{acc}, nil
		}
	case *acmtypes.AddTagsToCertificateRequest:
		acc.Context = nonEmpty(requestTags(in.Tags))
	case *acmtypes.RemoveTagsFromCertificateRequest:
		keys := make([]string, len(in.Tags))
		for i, t := range in.Tags {
			keys[i] = awsapi.Deref(t.Key)
		}
		if len(keys) > 0 {
			acc.Context = map[string][]string{"aws:TagKeys": keys}
		}
	}
	arn, ok := certificateARNOf(input)
	if !ok {
		return nil, nil // "*"
	}
	acc.Resource = arn
	reg := region(ctx)
	acc.ResourceTags = func(ctx context.Context) (map[string][]string, error) {
		cert, err := acmstate.Get(ctx, a.store, reg, arn)
		if errors.Is(err, acmstate.ErrNotFound) {
			return nil, nil // the handler answers that
		}
		if err != nil {
			return nil, err
		}
		return resourceTags(cert.Value.Tags), nil
	}
	return []awsapi.Access{acc}, nil
}

// anyCertificate is the resource of a call that creates a certificate:
// the ARN of every certificate of the request's region, as ACM's denials
// name it.
func (a *ACM) anyCertificate(ctx context.Context) string {
	return acmstate.ARN(region(ctx), a.account, "*")
}

// certificateARNOf is the CertificateArn member of a request, for the
// operations on one certificate.
func certificateARNOf(input any) (string, bool) {
	v := reflect.ValueOf(input)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return "", false
	}
	f := v.Elem().FieldByName("CertificateArn")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*string]() || f.IsNil() {
		return "", false
	}
	return *f.Interface().(*string), true
}

func requestTags(tags []acmtypes.Tag) map[string][]string {
	c := map[string][]string{}
	for _, t := range tags {
		k := awsapi.Deref(t.Key)
		c["aws:RequestTag/"+k] = []string{awsapi.Deref(t.Value)}
		c["aws:TagKeys"] = append(c["aws:TagKeys"], k)
	}
	return c
}

func resourceTags(tags []acmstate.Tag) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	c := map[string][]string{}
	for _, t := range tags {
		c["aws:ResourceTag/"+t.Key] = []string{awsapi.Deref(t.Value)}
	}
	return c
}

func nonEmpty(c map[string][]string) map[string][]string {
	if len(c) == 0 {
		return nil
	}
	return c
}
