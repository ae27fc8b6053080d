package groups

// handlers maps every op to its implementation. Each op validates its
// parameters, reads, applies the rules of rules.go and commits, in the
// precedence order of SPEC.md §3.
var handlers = map[Op]handler{
	OpCreateGroup:     {run: opCreateGroup},
	OpGetGroupList:    {run: opGetGroupList},
	OpGetGroupProfile: {run: opGetGroupProfile, anon: true},
	OpSearchGroupByID: {run: opSearchGroupByID},
	OpJoinGroup:       {run: opJoinGroup, anon: true},
	OpQuitGroup:       {run: opQuitGroup, anon: true},
	OpSendMessage:     {run: opSendMessage},
}
