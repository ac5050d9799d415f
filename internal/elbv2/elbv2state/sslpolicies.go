package elbv2state

import "slices"

// SSLPolicy is a security policy of HTTPS listeners: the TLS versions and
// the ciphers (in order of preference) the data plane offers clients.
type SSLPolicy struct {
	Name      string
	Protocols []string
	Ciphers   []string
}

// DefaultSSLPolicy is an HTTPS listener's policy when it names none.
const DefaultSSLPolicy = "ELBSecurityPolicy-2016-08"

var (
	tls13Ciphers = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
	// ecdheGCM and the lists built from it are the TLS 1.2 cipher suites
	// of AWS's policies, in their order.
	ecdheGCM = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"}
	ecdheSHA2 = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
		"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384"}
	ecdheAll = []string{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
		"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA384",
		"ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA"}
	rsaSHA2    = []string{"AES128-GCM-SHA256", "AES128-SHA256", "AES256-GCM-SHA384", "AES256-SHA256"}
	classic    = slices.Concat(ecdheAll, []string{"AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA", "AES256-GCM-SHA384", "AES256-SHA256", "AES256-SHA"})
	tls13Ext2  = slices.Concat(tls13Ciphers, ecdheSHA2, rsaSHA2, []string{"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA", "AES128-SHA", "AES256-SHA"})
	tls10to12  = []string{"TLSv1", "TLSv1.1", "TLSv1.2"}
	tls11to12  = []string{"TLSv1.1", "TLSv1.2"}
	tls12      = []string{"TLSv1.2"}
	tls12to13  = []string{"TLSv1.2", "TLSv1.3"}
	tls11to13  = []string{"TLSv1.1", "TLSv1.2", "TLSv1.3"}
	tls10to13  = []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
	tls13Only  = []string{"TLSv1.3"}
	tls13SHA2  = slices.Concat(tls13Ciphers, ecdheSHA2)
	tls13GCM   = slices.Concat(tls13Ciphers, ecdheGCM)
	tls13Ext1  = slices.Concat(tls13Ciphers, ecdheSHA2, rsaSHA2)
	tls12Ext17 = slices.Concat(ecdheSHA2, rsaSHA2)
)

// SSLPolicies are the policies of application load balancers, in the order
// DescribeSSLPolicies lists them. UNVERIFIED: the cipher lists follow AWS's
// published tables as berth's authors read them.
var SSLPolicies = []SSLPolicy{
	{DefaultSSLPolicy, tls10to12, classic},
	{"ELBSecurityPolicy-TLS13-1-2-2021-06", tls12to13, tls13SHA2},
	{"ELBSecurityPolicy-TLS13-1-2-Res-2021-06", tls12to13, tls13GCM},
	{"ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", tls12to13, tls13Ext1},
	{"ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06", tls12to13, tls13Ext2},
	{"ELBSecurityPolicy-TLS13-1-1-2021-06", tls11to13, tls13Ext2},
	{"ELBSecurityPolicy-TLS13-1-0-2021-06", tls10to13, tls13Ext2},
	{"ELBSecurityPolicy-TLS13-1-3-2021-06", tls13Only, tls13Ciphers},
	{"ELBSecurityPolicy-TLS-1-2-2017-01", tls12, tls12Ext17},
	{"ELBSecurityPolicy-TLS-1-1-2017-01", tls11to12, classic},
	{"ELBSecurityPolicy-TLS-1-2-Ext-2018-06", tls12, classic},
	{"ELBSecurityPolicy-FS-2018-06", tls10to12, ecdheAll},
	{"ELBSecurityPolicy-2015-05", tls10to12, classic},
	{"ELBSecurityPolicy-TLS-1-0-2015-04", tls10to12, slices.Concat(classic, []string{"DES-CBC3-SHA"})},
	{"ELBSecurityPolicy-FS-1-2-Res-2019-08", tls12, ecdheSHA2},
	{"ELBSecurityPolicy-FS-1-1-2019-08", tls11to12, ecdheAll},
	{"ELBSecurityPolicy-FS-1-2-2019-08", tls12, ecdheAll},
	{"ELBSecurityPolicy-FS-1-2-Res-2020-10", tls12, ecdheGCM},
}

// SSLPolicyNamed returns the policy called name.
func SSLPolicyNamed(name string) (SSLPolicy, bool) {
	i := slices.IndexFunc(SSLPolicies, func(p SSLPolicy) bool { return p.Name == name })
	if i < 0 {
		return SSLPolicy{}, false
	}
	return SSLPolicies[i], true
}
