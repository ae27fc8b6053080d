package groups

// Group is the stored record of a group. The member count and the message
// sequence live beside it in the store and are filled in when it is read.
type Group struct {
	ID           string            `json:"id"`
	Type         Type              `json:"type"`
	Name         string            `json:"name"`
	Avatar       string            `json:"avatar,omitempty"`
	Introduction string            `json:"introduction,omitempty"`
	Notification string            `json:"notification,omitempty"`
	OwnerID      string            `json:"ownerID,omitempty"`
	CreateTime   int64             `json:"createTime"`
	InfoSeq      uint64            `json:"infoSeq"`
	LastInfoTime int64             `json:"lastInfoTime"`
	MaxMemberNum int               `json:"maxMemberNum"`
	MuteAll      bool              `json:"muteAll,omitempty"`
	JoinOption   JoinOption        `json:"joinOption"`
	Custom       map[string]string `json:"custom,omitempty"`
	// Mutes keeps the muteUntil of users who are not (stored) members: a
	// mute survives quitting and rejoining (SPEC.md §4), and live rooms
	// keep mutes per room although membership is not stored (§5).
	Mutes map[string]int64 `json:"mutes,omitempty"`

	// Filled in by the store on read; not part of the stored record.
	Version   uint64       `json:"-"` // bumped by every Commit
	MemberNum int          `json:"-"`
	Seq       uint64       `json:"-"` // last sequence taken (0 = none)
	Last      *LastMessage `json:"-"`
}

// LastMessage is the summary of a group's newest message (SPEC.md §6.3).
type LastMessage struct {
	LastTime       int64  `json:"lastTime"`
	LastSequence   uint64 `json:"lastSequence"`
	FromAccount    string `json:"fromAccount"`
	MessageForShow string `json:"messageForShow"`
}

// clone returns a deep copy, so an operation can edit a record it read.
func (g *Group) clone() *Group {
	c := *g
	if g.Custom != nil {
		c.Custom = make(map[string]string, len(g.Custom))
		for k, v := range g.Custom {
			c.Custom[k] = v
		}
	}
	if g.Mutes != nil {
		c.Mutes = make(map[string]int64, len(g.Mutes))
		for k, v := range g.Mutes {
			c.Mutes[k] = v
		}
	}
	return &c
}

// keepMute records userID's mute in g (which the caller may edit) when it
// has not expired, and drops expired mutes; it reports whether g changed.
func (g *Group) keepMute(userID string, until, now int64) bool {
	changed := false
	for u, t := range g.Mutes {
		if t <= now {
			delete(g.Mutes, u)
			changed = true
		}
	}
	if until > now {
		if g.Mutes == nil {
			g.Mutes = map[string]int64{}
		}
		g.Mutes[userID] = until
		changed = true
	}
	return changed
}

// takeMute removes and returns userID's kept mute (0 when none or expired).
func (g *Group) takeMute(userID string, now int64) int64 {
	t, ok := g.Mutes[userID]
	if !ok {
		return 0
	}
	delete(g.Mutes, userID)
	if t <= now {
		return 0
	}
	return t
}

// Member is the stored record of one member of a non-live group.
type Member struct {
	UserID    string            `json:"userID"`
	Role      Role              `json:"role"`
	JoinTime  int64             `json:"joinTime"`
	JoinSeq   uint64            `json:"joinSeq"` // first sequence the member may read
	NameCard  string            `json:"nameCard,omitempty"`
	MuteUntil int64             `json:"muteUntil,omitempty"`
	Remind    RemindType        `json:"remind,omitempty"`
	Custom    map[string]string `json:"custom,omitempty"`
}

// remind returns the member's remind type, defaulting to AcceptAndNotify.
func (m *Member) remind() RemindType {
	if m.Remind == "" {
		return AcceptAndNotify
	}
	return m.Remind
}

// Application is a pending join request to a NeedPermission group.
type Application struct {
	GroupID      string `json:"groupID"`
	Applicant    string `json:"applicant"`
	ApplyMessage string `json:"applyMessage"`
	Time         int64  `json:"time"`
}

// Profile is a user's own profile (updateMyProfile).
type Profile struct {
	UserID string `json:"userID"`
	Nick   string `json:"nick"`
	Avatar string `json:"avatar"`
}
