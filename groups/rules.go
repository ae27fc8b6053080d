package groups

// Op is an operation name, as on the wire (the TIM method name).
type Op string

// The operations of SPEC.md §4 and §6.
const (
	OpCreateGroup               Op = "createGroup"
	OpGetGroupList              Op = "getGroupList"
	OpGetGroupProfile           Op = "getGroupProfile"
	OpSearchGroupByID           Op = "searchGroupByID"
	OpUpdateGroupProfile        Op = "updateGroupProfile"
	OpDismissGroup              Op = "dismissGroup"
	OpJoinGroup                 Op = "joinGroup"
	OpQuitGroup                 Op = "quitGroup"
	OpChangeGroupOwner          Op = "changeGroupOwner"
	OpHandleGroupApplication    Op = "handleGroupApplication"
	OpGetGroupApplicationList   Op = "getGroupApplicationList"
	OpSetMessageRemindType      Op = "setMessageRemindType"
	OpGetGroupMemberList        Op = "getGroupMemberList"
	OpGetGroupMemberProfile     Op = "getGroupMemberProfile"
	OpAddGroupMember            Op = "addGroupMember"
	OpDeleteGroupMember         Op = "deleteGroupMember"
	OpSetGroupMemberMuteTime    Op = "setGroupMemberMuteTime"
	OpSetGroupMemberRole        Op = "setGroupMemberRole"
	OpSetGroupMemberNameCard    Op = "setGroupMemberNameCard"
	OpSetGroupMemberCustomField Op = "setGroupMemberCustomField"
	OpGetGroupOnlineMemberCount Op = "getGroupOnlineMemberCount"
	OpUpdateMyProfile           Op = "updateMyProfile"
	OpGetMyProfile              Op = "getMyProfile"
	OpSendMessage               Op = "sendMessage"
	OpGetMessageList            Op = "getMessageList"
	OpSyncMessages              Op = "syncMessages"
)

// Reach says which targets a caller's role may act on (SPEC.md §3 steps 6
// and 9).
type Reach int

// The reaches.
const (
	// ReachNone: the op has no target member.
	ReachNone Reach = iota
	// ReachOutranked: the target must not be the owner and must rank below
	// the caller (kick, mute, set role).
	ReachOutranked
	// ReachCard: the owner reaches anyone, an admin itself and ordinary
	// members, a member only itself (name cards, member custom fields).
	ReachCard
	// ReachAny: any member may be the target (changeGroupOwner).
	ReachAny
)

// Rule is what one group type allows for one operation: the steps of the
// precedence list of SPEC.md §3 that depend on the group, in order.
type Rule struct {
	// Anyone skips step 4: non-members may call (false: members and App
	// admins only, else 10007).
	Anyone bool
	// Forbid is the step-5 code when the type forbids the op (0: allowed).
	Forbid int
	// Self is the step-6 code when the target is the caller (0: allowed).
	Self int
	// Roles are the roles that may call (step 7); nil means every member.
	// An empty, non-nil list means App admins only.
	Roles []Role
	// Deny is the step-7 code (0 means 10007).
	Deny int
	// Reach is the step-9 target rule.
	Reach Reach
}

var (
	ownerOnly  = []Role{RoleOwner}
	ownerAdmin = []Role{RoleOwner, RoleAdmin}
	appAdmins  = []Role{}
)

// all gives one rule to every type.
func all(r Rule) map[Type]Rule {
	return map[Type]Rule{Private: r, Public: r, ChatRoom: r, AVChatRoom: r}
}

// byType gives rules per type: Private, Public, ChatRoom, AVChatRoom.
func byType(private, public, chatRoom, live Rule) map[Type]Rule {
	return map[Type]Rule{Private: private, Public: public, ChatRoom: chatRoom, AVChatRoom: live}
}

// rules is the type × role matrix of SPEC.md §3 and the "who may" of §4:
// the single source of truth for permissions. Ops on no group
// (createGroup, getGroupList, getGroupApplicationList, profiles) are absent.
// docs/OPERATIONS.md is checked against it by TestOperationsDoc.
var rules = map[Op]map[Type]Rule{
	OpGetGroupProfile: byType(Rule{}, Rule{Anyone: true}, Rule{Anyone: true}, Rule{Anyone: true}),
	OpSearchGroupByID: byType(Rule{Anyone: true, Forbid: CodeGroupNotFound},
		Rule{Anyone: true}, Rule{Anyone: true}, Rule{Anyone: true}),
	OpUpdateGroupProfile: byType(Rule{}, Rule{Roles: ownerAdmin}, Rule{Roles: ownerAdmin}, Rule{Roles: ownerOnly}),
	OpDismissGroup: byType(Rule{Roles: appAdmins, Deny: CodeDismissWork},
		Rule{Roles: ownerOnly}, Rule{Roles: ownerOnly}, Rule{Roles: ownerOnly}),
	OpJoinGroup: byType(Rule{Anyone: true, Forbid: CodeWorkJoin},
		Rule{Anyone: true}, Rule{Anyone: true}, Rule{Anyone: true}),
	OpQuitGroup:              all(Rule{}),
	OpChangeGroupOwner:       byType(Rule{Roles: ownerOnly, Self: CodeChangeOwnerSelf, Reach: ReachAny}, Rule{Roles: ownerOnly, Self: CodeChangeOwnerSelf, Reach: ReachAny}, Rule{Roles: ownerOnly, Self: CodeChangeOwnerSelf, Reach: ReachAny}, Rule{Forbid: CodeLiveChangeOwner}),
	OpHandleGroupApplication: all(Rule{Roles: ownerAdmin}),
	OpSetMessageRemindType:   byType(Rule{}, Rule{}, Rule{}, Rule{Forbid: CodeNoPermission}),
	OpGetGroupMemberList:     all(Rule{}),
	OpGetGroupMemberProfile:  all(Rule{}),
	OpAddGroupMember: byType(Rule{}, Rule{Roles: appAdmins}, Rule{Roles: appAdmins},
		Rule{Forbid: CodeLiveAddMember}),
	OpDeleteGroupMember: byType(
		Rule{Roles: ownerOnly, Self: CodeNoPermission, Reach: ReachOutranked},
		Rule{Roles: ownerAdmin, Self: CodeNoPermission, Reach: ReachOutranked},
		Rule{Roles: ownerAdmin, Self: CodeNoPermission, Reach: ReachOutranked},
		Rule{Forbid: CodeLiveKick}),
	OpSetGroupMemberMuteTime: byType(Rule{Forbid: CodeNoPermission},
		Rule{Roles: ownerAdmin, Self: CodeMuteSelf, Reach: ReachOutranked},
		Rule{Roles: ownerAdmin, Self: CodeMuteSelf, Reach: ReachOutranked},
		Rule{Roles: ownerOnly, Self: CodeMuteSelf, Reach: ReachOutranked}),
	OpSetGroupMemberRole: byType(Rule{Forbid: CodeRoleType},
		Rule{Roles: ownerOnly, Deny: CodeRoleNotOwner, Self: CodeRoleSelf, Reach: ReachOutranked},
		Rule{Roles: ownerOnly, Deny: CodeRoleNotOwner, Self: CodeRoleSelf, Reach: ReachOutranked},
		Rule{Forbid: CodeRoleType}),
	OpSetGroupMemberNameCard: byType(Rule{Reach: ReachCard}, Rule{Reach: ReachCard}, Rule{Reach: ReachCard},
		Rule{Forbid: CodeNoPermission}),
	OpSetGroupMemberCustomField: byType(Rule{Reach: ReachCard}, Rule{Reach: ReachCard}, Rule{Reach: ReachCard},
		Rule{Forbid: CodeNoPermission}),
	OpGetGroupOnlineMemberCount: all(Rule{Anyone: true}),
	OpSendMessage:               all(Rule{}),
	OpGetMessageList:            all(Rule{}),
	OpSyncMessages:              all(Rule{}),
}

// actor is the caller as the rules see it in one group.
type actor struct {
	userID   string
	member   *Member // nil when not a member
	appAdmin bool
}

// role is the actor's role in the group ("" for a non-member).
func (a actor) role() Role {
	if a.member == nil {
		return ""
	}
	return a.member.Role
}

// authorize applies steps 4 to 7 of SPEC.md §3 for op on g. typeParams,
// when not nil, is the op's own step-5 check of parameters the type does
// not take; it runs after the type's own step 5. targets are the op's
// target users, for step 6 (the target is the caller).
func authorize(op Op, g *Group, a actor, typeParams func() error, targets ...string) error {
	r := rules[op][g.Type]
	if !r.Anyone && a.member == nil && !a.appAdmin {
		return errNoPermission("%s: you are not a member of group %s", op, g.ID)
	}
	if r.Forbid != 0 {
		return Errorf(r.Forbid, "%s is not supported in %s groups", op, g.Type)
	}
	if typeParams != nil {
		if err := typeParams(); err != nil {
			return err
		}
	}
	for _, t := range targets {
		if err := checkSelf(op, g, a, t); err != nil {
			return err
		}
	}
	return allowRole(op, r, g, a)
}

// allowRole is step 7: the caller's role may call op.
func allowRole(op Op, r Rule, g *Group, a actor) error {
	if a.appAdmin || r.Roles == nil {
		return nil
	}
	for _, role := range r.Roles {
		if a.role() == role {
			return nil
		}
	}
	code := r.Deny
	if code == 0 {
		code = CodeNoPermission
	}
	return Errorf(code, "%s in a %s group: %s", op, g.Type, whoMay(r.Roles))
}

func whoMay(roles []Role) string {
	switch len(roles) {
	case 0:
		return "only an App admin may"
	case 1:
		return "only the owner may"
	}
	return "only the owner or an admin may"
}

// checkSelf is step 6: the target is the caller. Steps 8 (the target is
// not a member) and 9 (checkReach) follow in the op.
func checkSelf(op Op, g *Group, a actor, targetID string) error {
	r := rules[op][g.Type]
	if r.Self != 0 && targetID == a.userID {
		return Errorf(r.Self, "%s: you may not target yourself", op)
	}
	return nil
}

// checkReach is step 9: the target is the owner or outranks the caller.
func checkReach(op Op, g *Group, a actor, target *Member) error {
	r := rules[op][g.Type]
	switch r.Reach {
	case ReachOutranked:
		if target.Role == RoleOwner {
			return errNoPermission("%s: the owner may not be targeted", op)
		}
		if !a.appAdmin && target.Role.rank() >= a.role().rank() {
			return errNoPermission("%s: %s is %s and you are %s", op, target.UserID, target.Role, a.role())
		}
	case ReachCard:
		if a.appAdmin || a.role() == RoleOwner || target.UserID == a.userID {
			return nil
		}
		if a.role() == RoleAdmin && target.Role == RoleMember {
			return nil
		}
		return errNoPermission("%s: you may not change %s's member data", op, target.UserID)
	}
	return nil
}
