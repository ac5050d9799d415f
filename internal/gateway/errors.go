package gateway

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"

	"github.com/berth/berth/internal/awsapi"
)

const jsonContentType = "application/x-amz-json-1.1"

// writeJSONError writes the awsJson1_1 error body. Clients read the code
// from __type (text after '#', before ':') and the text from message.
func writeJSONError(w http.ResponseWriter, e *awsapi.Error) {
	fields := make(map[string]any, len(e.Members)+2)
	for k, v := range e.Members {
		fields[k] = v
	}
	fields["__type"], fields["message"] = e.Code, e.Message
	body, _ := json.Marshal(fields)
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(body)
}

// writeQueryError writes the awsQuery ErrorResponse and returns the code and
// status sent. A code naming one of the model's exceptions takes the wire
// code and status of its awsQueryError trait.
func writeQueryError(w http.ResponseWriter, svc *service, e *awsapi.Error, requestID string) (string, int) {
	code, status := e.Code, e.HTTPStatus()
	ns := ""
	if svc != nil {
		ns = svc.namespace
		if qe, ok := svc.queryErrors[e.Code]; ok {
			code = qe.code
			if qe.status != 0 {
				status = qe.status
			}
		}
	}
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<ErrorResponse")
	writeXMLNS(&b, ns)
	b.WriteString("><Error><Type>")
	b.WriteString(typ)
	b.WriteString("</Type><Code>")
	escapeXML(&b, code)
	b.WriteString("</Code><Message>")
	escapeXML(&b, e.Message)
	b.WriteString("</Message></Error><RequestId>")
	escapeXML(&b, requestID)
	b.WriteString("</RequestId></ErrorResponse>")
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
	return code, status
}

// ec2ContentType is what EC2 sends its XML as.
const ec2ContentType = "text/xml;charset=UTF-8"

// writeEC2Error writes EC2's error document, which has no namespace and no
// Type, and spells RequestID so; the SDKs read Code and Message from it.
func writeEC2Error(w http.ResponseWriter, e *awsapi.Error, requestID string) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Response><Errors><Error><Code>")
	escapeXML(&b, e.Code)
	b.WriteString("</Code><Message>")
	escapeXML(&b, e.Message)
	b.WriteString("</Message></Error></Errors><RequestID>")
	escapeXML(&b, requestID)
	b.WriteString("</RequestID></Response>")
	w.Header().Set("Content-Type", ec2ContentType)
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(b.Bytes())
}

func writeXMLNS(b *bytes.Buffer, ns string) {
	if ns == "" {
		return
	}
	b.WriteString(` xmlns="`)
	escapeXML(b, ns)
	b.WriteString(`"`)
}

// escapeXML writes s as XML character data; invalid characters become
// U+FFFD, as encoding/xml does.
func escapeXML(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
