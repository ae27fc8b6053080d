package groups

import "sort"

// View is a Group object as on the wire (SPEC.md §6.3). It is a map so a
// view can leave fields out (getGroupList, public profiles) as TIM does.
type View map[string]any

// SelfInfo is the caller's own membership in a Group view.
type SelfInfo struct {
	Role              Role       `json:"role"`
	MessageRemindType RemindType `json:"messageRemindType"`
	JoinTime          int64      `json:"joinTime"`
	NameCard          string     `json:"nameCard"`
}

// MemberView is a GroupMember object as on the wire.
type MemberView struct {
	UserID            string `json:"userID"`
	Nick              string `json:"nick"`
	Avatar            string `json:"avatar"`
	Role              Role   `json:"role"`
	JoinTime          int64  `json:"joinTime"`
	NameCard          string `json:"nameCard"`
	MuteUntil         int64  `json:"muteUntil"`
	MemberCustomField []KV   `json:"memberCustomField"`
}

// publicView is every field a non-member may see.
func publicView(g *Group) View {
	return View{
		"groupID":        g.ID,
		"name":           g.Name,
		"avatar":         g.Avatar,
		"type":           g.Type,
		"introduction":   g.Introduction,
		"notification":   g.Notification,
		"ownerID":        g.OwnerID,
		"createTime":     g.CreateTime,
		"infoSequence":   g.InfoSeq,
		"lastInfoTime":   g.LastInfoTime,
		"memberNum":      g.MemberNum,
		"memberCount":    g.MemberNum,
		"maxMemberNum":   g.MaxMemberNum,
		"maxMemberCount": g.MaxMemberNum,
		"muteAllMembers": g.MuteAll,
		"joinOption":     g.JoinOption,
	}
}

// memberView is the full view a member (or App admin) sees; filter selects
// group custom keys (nil = all).
func memberView(g *Group, self *Member, filter []string) View {
	v := publicView(g)
	v["selfInfo"] = selfInfo(self)
	v["lastMessage"] = lastMessage(g)
	v["nextMessageSeq"] = g.Seq + 1
	v["groupCustomField"] = customList(g.Custom, filter)
	return v
}

// listView is a getGroupList entry: the fixed fields plus the filter keys.
func listView(g *Group, self *Member, filter []string) View {
	full := memberView(g, self, nil)
	v := View{}
	for _, k := range []string{"groupID", "type", "name", "avatar", "selfInfo", "lastMessage", "nextMessageSeq"} {
		v[k] = full[k]
	}
	for _, k := range filter {
		if listFilterKeys[k] {
			v[k] = full[k]
		}
	}
	return v
}

// listFilterKeys are the groupProfileFilter keys of SPEC.md §6.3.
var listFilterKeys = map[string]bool{
	"ownerID": true, "createTime": true, "lastInfoTime": true, "memberNum": true,
	"maxMemberNum": true, "joinOption": true, "introduction": true,
	"notification": true, "muteAllMembers": true,
}

func selfInfo(m *Member) *SelfInfo {
	if m == nil {
		return &SelfInfo{MessageRemindType: AcceptAndNotify}
	}
	return &SelfInfo{Role: m.Role, MessageRemindType: m.remind(), JoinTime: m.JoinTime, NameCard: m.NameCard}
}

func lastMessage(g *Group) *LastMessage {
	if g.Last == nil {
		return &LastMessage{}
	}
	l := *g.Last
	return &l
}

// customList turns a custom-field map into the wire list, sorted by key;
// filter (nil = all) selects keys.
func customList(m map[string]string, filter []string) []KV {
	out := []KV{}
	if filter != nil {
		for _, k := range filter {
			if v, ok := m[k]; ok {
				out = append(out, KV{k, v})
			}
		}
		return out
	}
	for k, v := range m {
		out = append(out, KV{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// viewMember builds a GroupMember; p may be nil.
func viewMember(m *Member, p *Profile, filter []string) MemberView {
	v := MemberView{UserID: m.UserID, Role: m.Role, JoinTime: m.JoinTime, NameCard: m.NameCard,
		MuteUntil: m.MuteUntil, MemberCustomField: customList(m.Custom, filter)}
	if p != nil {
		v.Nick, v.Avatar = p.Nick, p.Avatar
	}
	return v
}
