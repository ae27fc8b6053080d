package groups

// handlers maps every op to its implementation. Each op validates its
// parameters, reads, applies the rules of rules.go and commits, in the
// precedence order of SPEC.md §3.
var handlers = map[Op]handler{
	OpCreateGroup:               {run: opCreateGroup},
	OpGetGroupList:              {run: opGetGroupList},
	OpGetGroupProfile:           {run: opGetGroupProfile, anon: true},
	OpSearchGroupByID:           {run: opSearchGroupByID},
	OpUpdateGroupProfile:        {run: opUpdateGroupProfile},
	OpDismissGroup:              {run: opDismissGroup},
	OpJoinGroup:                 {run: opJoinGroup, anon: true},
	OpQuitGroup:                 {run: opQuitGroup, anon: true},
	OpChangeGroupOwner:          {run: opChangeGroupOwner},
	OpHandleGroupApplication:    {run: opHandleGroupApplication},
	OpGetGroupApplicationList:   {run: opGetGroupApplicationList},
	OpSetMessageRemindType:      {run: opSetMessageRemindType},
	OpGetGroupMemberList:        {run: opGetGroupMemberList},
	OpGetGroupMemberProfile:     {run: opGetGroupMemberProfile},
	OpAddGroupMember:            {run: opAddGroupMember},
	OpDeleteGroupMember:         {run: opDeleteGroupMember},
	OpSetGroupMemberMuteTime:    {run: opSetGroupMemberMuteTime},
	OpSetGroupMemberRole:        {run: opSetGroupMemberRole},
	OpSetGroupMemberNameCard:    {run: opSetGroupMemberNameCard},
	OpSetGroupMemberCustomField: {run: opSetGroupMemberCustomField},
	OpGetGroupOnlineMemberCount: {run: opGetGroupOnlineMemberCount, anon: true},
	OpUpdateMyProfile:           {run: opUpdateMyProfile},
	OpGetMyProfile:              {run: opGetMyProfile},
	OpSendMessage:               {run: opSendMessage},
	OpGetMessageList:            {run: opGetMessageList},
	OpSyncMessages:              {run: opSyncMessages},
}
