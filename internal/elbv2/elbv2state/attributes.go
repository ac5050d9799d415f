package elbv2state

// Attribute is one attribute of a load balancer or target group: its key
// and value.
type Attribute struct {
	Key, Value string
}

// Load balancer attribute keys the data plane reads.
const (
	AttrIdleTimeout         = "idle_timeout.timeout_seconds"
	AttrDeletionProtection  = "deletion_protection.enabled"
	AttrHTTP2               = "routing.http2.enabled"
	AttrDropInvalidHeaders  = "routing.http.drop_invalid_header_fields.enabled"
	AttrTLSHeaders          = "routing.http.x_amzn_tls_version_and_cipher_suite.enabled"
	AttrXFFClientPort       = "routing.http.xff_client_port.enabled"
	AttrPreserveHostHeader  = "routing.http.preserve_host_header.enabled"
	AttrXFFProcessingMode   = "routing.http.xff_header_processing.mode"
	AttrDesyncMitigation    = "routing.http.desync_mitigation_mode"
	AttrClientKeepAlive     = "client_keep_alive.seconds"
	AttrWAFFailOpen         = "waf.fail_open.enabled"
	AttrLBCrossZone         = "load_balancing.cross_zone.enabled"
	AttrAccessLogsEnabled   = "access_logs.s3.enabled"
	AttrAccessLogsBucket    = "access_logs.s3.bucket"
	AttrAccessLogsPrefix    = "access_logs.s3.prefix"
	AttrConnLogsEnabled     = "connection_logs.s3.enabled"
	AttrConnLogsBucket      = "connection_logs.s3.bucket"
	AttrConnLogsPrefix      = "connection_logs.s3.prefix"
	AttrHealthLogsEnabled   = "health_check_logs.s3.enabled"
	AttrHealthLogsBucket    = "health_check_logs.s3.bucket"
	AttrHealthLogsPrefix    = "health_check_logs.s3.prefix"
	AttrZonalShiftEnabled   = "zonal_shift.config.enabled"
	AttrDeregistrationDelay = "deregistration_delay.timeout_seconds"
)

// Target group attribute keys the data plane reads.
const (
	AttrStickinessEnabled          = "stickiness.enabled"
	AttrStickinessType             = "stickiness.type"
	AttrStickinessLBCookieSeconds  = "stickiness.lb_cookie.duration_seconds"
	AttrStickinessAppCookieName    = "stickiness.app_cookie.cookie_name"
	AttrStickinessAppCookieSeconds = "stickiness.app_cookie.duration_seconds"
	AttrSlowStart                  = "slow_start.duration_seconds"
	AttrAlgorithm                  = "load_balancing.algorithm.type"
	AttrAnomalyMitigation          = "load_balancing.algorithm.anomaly_mitigation"
	AttrTGCrossZone                = "load_balancing.cross_zone.enabled"
	AttrDNSFailoverCount           = "target_group_health.dns_failover.minimum_healthy_targets.count"
	AttrDNSFailoverPercentage      = "target_group_health.dns_failover.minimum_healthy_targets.percentage"
	AttrUnhealthyRoutingCount      = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count"
	AttrUnhealthyRoutingPercentage = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage"
)

// LoadBalancerAttributes are the attributes of an application load
// balancer with their defaults, in the order
// DescribeLoadBalancerAttributes lists them.
var LoadBalancerAttributes = []Attribute{
	{AttrAccessLogsEnabled, "false"},
	{AttrAccessLogsBucket, ""},
	{AttrAccessLogsPrefix, ""},
	{AttrIdleTimeout, "60"},
	{AttrDeletionProtection, "false"},
	{AttrHTTP2, "true"},
	{AttrDropInvalidHeaders, "false"},
	{AttrXFFClientPort, "false"},
	{AttrPreserveHostHeader, "false"},
	{AttrXFFProcessingMode, "append"},
	{AttrLBCrossZone, "true"},
	{AttrDesyncMitigation, "defensive"},
	{AttrClientKeepAlive, "3600"},
	{AttrWAFFailOpen, "false"},
	{AttrTLSHeaders, "false"},
	{AttrZonalShiftEnabled, "false"},
	{AttrConnLogsEnabled, "false"},
	{AttrConnLogsBucket, ""},
	{AttrConnLogsPrefix, ""},
	{AttrHealthLogsEnabled, "false"},
	{AttrHealthLogsBucket, ""},
	{AttrHealthLogsPrefix, ""},
}

// TargetGroupAttributes are the attributes of an application load
// balancer's target group of instances or IP addresses with their
// defaults, in the order DescribeTargetGroupAttributes lists them.
var TargetGroupAttributes = []Attribute{
	{AttrUnhealthyRoutingCount, "1"},
	{AttrStickinessEnabled, "false"},
	{AttrUnhealthyRoutingPercentage, "off"},
	{AttrDeregistrationDelay, "300"},
	{AttrDNSFailoverCount, "1"},
	{AttrStickinessAppCookieName, ""},
	{AttrStickinessType, "lb_cookie"},
	{AttrAlgorithm, "round_robin"},
	{AttrDNSFailoverPercentage, "off"},
	{AttrStickinessLBCookieSeconds, "86400"},
	{AttrTGCrossZone, "use_load_balancer_configuration"},
	{AttrSlowStart, "0"},
	{AttrStickinessAppCookieSeconds, "86400"},
	{AttrAnomalyMitigation, "off"},
}

// attributeDefault is key's default in attrs, "" for a key not there.
func attributeDefault(attrs []Attribute, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}
