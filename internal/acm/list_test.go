package acm

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
)

// ListCertificates answers an empty list, not none, when nothing matches:
// the aws CLI prints nothing at all for none.
func TestListCertificatesEmpty(t *testing.T) {
	e := newTestEnv(t)
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: testRegion})
	out, err := e.acm.listCertificates(ctx, &acmtypes.ListCertificatesRequest{CertificateStatuses: []string{"PENDING_VALIDATION"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(out)
	if err != nil || string(b) != `{"CertificateSummaryList":[]}` {
		t.Fatalf("answer %s %v", b, err)
	}
}
