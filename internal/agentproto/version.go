package agentproto

import "fmt"

// Protocol versions.
//
// A version fixes the frames: the messages, their members, the members' JSON
// names and what their values mean. Frames are decoded strictly (a member the
// version does not define makes a frame malformed), so any change a peer of
// another version could notice (a member added, removed or renamed, a value
// given another meaning, a new message) makes a new version; a released
// version never changes. That includes the ECS API shapes frames carry:
// regenerating ecstypes with a member that can appear in them is a change of
// the wire too, since an older peer refuses a member it does not know.
//
// Compatibility: an agent's Hello names the newest version it speaks (its
// Version); it speaks every version down to its MinVersion. The hub answers
// in its Welcome with the version the connection uses from then on: the
// newest both speak, that is the lower of the two Versions (see Negotiate).
// When that is below the hub's MinVersion, the hub refuses the agent with an
// Error saying to upgrade it; an agent refuses a Welcome naming a version it
// does not speak (see CheckWelcome), which tells its operator to upgrade the
// server. The Hello itself is read before a version is agreed: a hub that
// cannot read a newer agent's Hello refuses it, saying to upgrade the
// server. So servers are upgraded before their agents, and a server keeps
// its MinVersion at the oldest version its agents may still speak.
const (
	// Version is the newest protocol version this build speaks, the one
	// its agents name in their Hello.
	Version = 3
	// MinVersion is the oldest protocol version this build still speaks.
	// Version 2 (the awsvpc task interface and the network state) is
	// required: an agent of version 1 cannot run a task in a VPC. Version
	// 3 adds Exec; the hub sends it to agents of version 3 only.
	MinVersion = 2
)

// Negotiate is the hub's side of the handshake: given the version an
// agent's Hello names, it returns the version the connection uses, which
// the Welcome names, or why there is none, worded for the operator.
func Negotiate(agentVersion int) (int, error) {
	switch {
	case agentVersion < 1:
		return 0, fmt.Errorf("the hello names no protocol version (%d)", agentVersion)
	case agentVersion < MinVersion:
		return 0, fmt.Errorf("the agent speaks protocol version %d at most, this server %d to %d: upgrade the agent", agentVersion, MinVersion, Version)
	}
	return min(agentVersion, Version), nil
}

// CheckWelcome is the agent's side of the handshake: it returns nil when
// the version a Welcome names is one this agent speaks, else why not,
// worded for the operator.
func CheckWelcome(version int) error {
	switch {
	case version > Version:
		return fmt.Errorf("the server chose protocol version %d, newer than the %d this agent named", version, Version)
	case version < MinVersion:
		return fmt.Errorf("the server speaks protocol version %d at most, this agent %d to %d: upgrade the server", version, MinVersion, Version)
	}
	return nil
}
