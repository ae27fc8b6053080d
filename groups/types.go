package groups

// Type is a group type, as its TIM wire string.
type Type string

// The group types of SPEC.md §1 (Community is out of scope).
const (
	Private    Type = "Private"    // Work group
	Public     Type = "Public"     // Public group
	ChatRoom   Type = "ChatRoom"   // Meeting group
	AVChatRoom Type = "AVChatRoom" // live room
)

// Types lists every group type in the order of SPEC.md §3.
var Types = []Type{Private, Public, ChatRoom, AVChatRoom}

// Valid reports whether t is one of the four types.
func (t Type) Valid() bool {
	switch t {
	case Private, Public, ChatRoom, AVChatRoom:
		return true
	}
	return false
}

// Live reports whether t is a live room (membership is live, nothing stored).
func (t Type) Live() bool { return t == AVChatRoom }

// Role is a member's role.
type Role string

// The roles of SPEC.md §1.
const (
	RoleOwner  Role = "Owner"
	RoleAdmin  Role = "Admin"
	RoleMember Role = "Member"
)

// rank orders roles for "outranks" checks: Owner > Admin > Member.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// JoinOption says how users may join a group.
type JoinOption string

// The join options of SPEC.md §3.
const (
	FreeAccess     JoinOption = "FreeAccess"
	NeedPermission JoinOption = "NeedPermission"
	DisableApply   JoinOption = "DisableApply"
)

// Valid reports whether o is one of the three options.
func (o JoinOption) Valid() bool {
	return o == FreeAccess || o == NeedPermission || o == DisableApply
}

// fixedJoinOption is the join option a type imposes ("" = settable).
func fixedJoinOption(t Type) JoinOption {
	switch t {
	case Private:
		return DisableApply
	case ChatRoom, AVChatRoom:
		return FreeAccess
	}
	return ""
}

// RemindType is a member's messageRemindType (SPEC.md §6.2).
type RemindType string

// The remind types.
const (
	AcceptAndNotify RemindType = "AcceptAndNotify"
	AcceptNotNotify RemindType = "AcceptNotNotify"
	Discard         RemindType = "Discard"
)

// Valid reports whether r is one of the three remind types.
func (r RemindType) Valid() bool {
	return r == AcceptAndNotify || r == AcceptNotNotify || r == Discard
}

// Priority is a message priority.
type Priority string

// The message priorities, highest first.
const (
	High   Priority = "High"
	Normal Priority = "Normal"
	Low    Priority = "Low"
	Lowest Priority = "Lowest"
)

// Valid reports whether p is one of the four priorities.
func (p Priority) Valid() bool {
	return p == High || p == Normal || p == Low || p == Lowest
}
