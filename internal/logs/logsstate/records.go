package logsstate

// LogGroup is a log group's record. Times are milliseconds since the epoch,
// as CloudWatch Logs gives them.
type LogGroup struct {
	Region       string `json:"region"`
	Name         string `json:"name"`
	CreationTime int64  `json:"creationTime"`
	// RetentionInDays is 0 when events never expire.
	RetentionInDays    int32             `json:"retentionInDays,omitempty"`
	LogGroupClass      string            `json:"logGroupClass"`
	KmsKeyID           string            `json:"kmsKeyId,omitempty"`
	DeletionProtection bool              `json:"deletionProtection,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
}

// ID is the group's identity.
func (g LogGroup) ID() GroupID { return GroupID{Region: g.Region, Name: g.Name} }

// LogStream is a log stream's record.
type LogStream struct {
	Region       string `json:"region"`
	Group        string `json:"group"`
	Name         string `json:"name"`
	CreationTime int64  `json:"creationTime"`
	// DataID names the stream's event files. It is new for every stream
	// created, so a stream deleted and created again under its name never
	// shows the old one's events, even if removing those failed.
	DataID string `json:"dataId"`
}

// GroupID is the stream's group.
func (s LogStream) GroupID() GroupID { return GroupID{Region: s.Region, Name: s.Group} }
