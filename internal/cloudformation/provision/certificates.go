package provision

import (
	"context"
	"fmt"
)

// AWS::CertificateManager::Certificate: Ref is the certificate's ARN, and
// so is its CertificateArn attribute. berth's ACM issues a requested
// certificate at once with its own CA; CloudFormation waits until the
// certificate is issued.
func init() {
	register("AWS::CertificateManager::Certificate", &Provisioner{Create: createACMCertificate, Update: updateACMCertificate,
		Delete: deleteACMCertificate, Settled: acmCertificateIssued})
}

func createACMCertificate(ctx context.Context, c *Call) (Result, error) {
	in := map[string]any{"DomainName": c.str("DomainName")}
	for _, p := range []string{"CertificateAuthorityArn", "KeyAlgorithm", "SubjectAlternativeNames", "ValidationMethod"} {
		if v, ok := c.Properties[p]; ok {
			in[p] = v
		}
	}
	if list, ok := c.Properties["DomainValidationOptions"].([]any); ok {
		var options []any
		for _, item := range list {
			o, _ := item.(map[string]any)
			for k := range o {
				switch k {
				case "DomainName", "ValidationDomain":
				case "HostedZoneId":
					// The zone CloudFormation writes a name's DNS
					// validation record into: berth's certificates are
					// validated as they are requested, so no record is
					// needed (and berth has no Route 53 to write it to).
				default:
					return Result{}, fmt.Errorf("berth does not support the property DomainValidationOptions.%s yet", k)
				}
			}
			// ACM's option is a name's validation domain; a DNS-validated
			// name's option may give only its hosted zone.
			if vd, ok := o["ValidationDomain"]; ok {
				options = append(options, map[string]any{"DomainName": o["DomainName"], "ValidationDomain": vd})
			}
		}
		if len(options) > 0 {
			in["DomainValidationOptions"] = options
		}
	}
	if options := c.acmCertificateOptions(); len(options) > 0 {
		in["Options"] = options
	}
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		in["Tags"] = tags
	}
	out, err := c.invoke(ctx, "acm", "RequestCertificate", in)
	if err != nil {
		return Result{}, err
	}
	arn := fmt.Sprint(out["CertificateArn"])
	return Result{PhysicalID: arn, Attributes: map[string]any{"CertificateArn": arn}, Settling: true}, nil
}

// acmCertificateOptions are ACM's Options of the properties: transparency
// logging and export.
func (c *Call) acmCertificateOptions() map[string]any {
	options := map[string]any{}
	if v, ok := c.Properties["CertificateTransparencyLoggingPreference"]; ok {
		options["CertificateTransparencyLoggingPreference"] = v
	}
	if v, ok := c.Properties["CertificateExport"]; ok {
		options["Export"] = v
	}
	return options
}

// acmCertificateIssued: a certificate is ready once issued; one that cannot
// be fails.
func acmCertificateIssued(ctx context.Context, c *Call) (bool, error) {
	out, err := c.invoke(ctx, "acm", "DescribeCertificate", map[string]any{"CertificateArn": c.PhysicalID})
	if err != nil {
		return false, err
	}
	cert, _ := out["Certificate"].(map[string]any)
	switch status := fmt.Sprint(cert["Status"]); status {
	case "ISSUED":
		return true, nil
	case "PENDING_VALIDATION":
		return false, nil
	default:
		reason := ""
		if r, ok := cert["FailureReason"]; ok {
			reason = fmt.Sprintf(" (%v)", r)
		}
		return false, Failure(fmt.Sprintf("Certificate %s is %s%s", c.PhysicalID, status, reason))
	}
}

// updateACMCertificate changes what the schema lets change in place: the
// transparency logging preference and the tags.
func updateACMCertificate(ctx context.Context, c *Call) (Result, error) {
	arn := c.PhysicalID
	if c.changed("CertificateTransparencyLoggingPreference") {
		// Absent is ACM's default, logging enabled.
		pref := c.str("CertificateTransparencyLoggingPreference")
		if pref == "" {
			pref = "ENABLED"
		}
		if _, err := c.invoke(ctx, "acm", "UpdateCertificateOptions", map[string]any{"CertificateArn": arn,
			"Options": map[string]any{"CertificateTransparencyLoggingPreference": pref}}); err != nil {
			return Result{}, err
		}
	}
	if c.changed("Tags") {
		if tags := c.removedTags(); len(tags) > 0 {
			if _, err := c.invoke(ctx, "acm", "RemoveTagsFromCertificate", map[string]any{"CertificateArn": arn, "Tags": tags}); err != nil {
				return Result{}, err
			}
		}
		if tags := c.tags("Key", "Value"); len(tags) > 0 {
			if _, err := c.invoke(ctx, "acm", "AddTagsToCertificate", map[string]any{"CertificateArn": arn, "Tags": tags}); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{PhysicalID: arn, Attributes: c.Attributes}, nil
}

// deleteACMCertificate deletes the certificate; ACM refuses while a load
// balancer uses it (ResourceInUseException), which fails the deletion as
// CloudFormation's does.
func deleteACMCertificate(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "acm", "DeleteCertificate", map[string]any{"CertificateArn": c.PhysicalID})
	if isNotFound(err, "ResourceNotFoundException") {
		return nil
	}
	return err
}
