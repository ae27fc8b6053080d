package groups

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/OPERATIONS.md from the rule table")

// emits is what each op pushes (SPEC.md §4), for the reference table.
var emits = map[Op]string{
	OpCreateGroup:               "notice 6 to the creator, 7 to initial members",
	OpUpdateGroupProfile:        "tip 6 (changed fields)",
	OpDismissGroup:              "notice 5 to every member",
	OpJoinGroup:                 "tip 1 (free join) or notice 1 to owner and admins (application)",
	OpQuitGroup:                 "tip 2 to the group and the quitter, notice 8 to the quitter",
	OpChangeGroupOwner:          "tip 6 (`ownerID`)",
	OpHandleGroupApplication:    "Agree: tip 1 + notice 2; Reject: notice 3",
	OpAddGroupMember:            "tip 1, notice 7 to each added user",
	OpDeleteGroupMember:         "tip 3 to the group and the removed, notice 4 to each removed",
	OpSetGroupMemberMuteTime:    "tip 7",
	OpSetGroupMemberRole:        "Admin: tip 4 + notice 9; Member: tip 5 + notice 10",
	OpSendMessage:               "the message to every member session but the sender's",
	OpGetGroupProfile:           "—",
	OpSearchGroupByID:           "—",
	OpSetMessageRemindType:      "—",
	OpGetGroupMemberList:        "—",
	OpGetGroupMemberProfile:     "—",
	OpSetGroupMemberNameCard:    "—",
	OpSetGroupMemberCustomField: "—",
	OpGetGroupOnlineMemberCount: "—",
	OpGetMessageList:            "—",
	OpSyncMessages:              "—",
}

// who renders one cell of the table: who may call op in a group of t.
func who(r Rule) string {
	if r.Forbid != 0 {
		return fmt.Sprintf("never (%d)", r.Forbid)
	}
	var s string
	switch {
	case r.Roles == nil && r.Anyone:
		s = "anyone"
	case r.Roles == nil:
		s = "members"
	case len(r.Roles) == 0:
		s = "AA only"
	default:
		names := make([]string, len(r.Roles))
		for i, role := range r.Roles {
			names[i] = string(role)[:1]
		}
		s = strings.Join(names, ", ")
	}
	if r.Deny != 0 {
		s += fmt.Sprintf(" (else %d)", r.Deny)
	}
	switch r.Reach {
	case ReachOutranked:
		s += "; target below the caller"
	case ReachCard:
		s += "; O: anyone, A: self + M, M: self"
	}
	if r.Self != 0 {
		s += fmt.Sprintf("; self → %d", r.Self)
	}
	return s
}

// renderOperations renders docs/OPERATIONS.md from the rule table.
func renderOperations() string {
	var b strings.Builder
	b.WriteString("# Operations reference\n\n")
	b.WriteString("Generated from the rule table in `groups/rules.go` by `go test ./groups -run TestOperationsDoc -update`;\n")
	b.WriteString("a test fails when this file and the code disagree. O = owner, A = admin, M = member,\n")
	b.WriteString("AA = App admin (may always do what O may, without being a member). \"members\" means any\n")
	b.WriteString("member or an App admin; non-members get 10007. The precedence of error codes is SPEC.md §3.\n\n")
	b.WriteString("| op | Private (Work) | Public | ChatRoom (Meeting) | AVChatRoom (live) | emits |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	ops := make([]string, 0, len(rules))
	for op := range rules {
		ops = append(ops, string(op))
	}
	sort.Strings(ops)
	for _, op := range ops {
		r := rules[Op(op)]
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", op, who(r[Private]), who(r[Public]), who(r[ChatRoom]), who(r[AVChatRoom]), emits[Op(op)])
	}
	b.WriteString("\nOps on no group, for any logged-in user: `createGroup` (notice 6 to the creator, 7 to\n")
	b.WriteString("initial members), `getGroupList`, `getGroupApplicationList` (the groups where the caller is\n")
	b.WriteString("O or A), `updateMyProfile`, `getMyProfile`. Anonymous connections may call `joinGroup`,\n")
	b.WriteString("`quitGroup`, `getGroupProfile` and `getGroupOnlineMemberCount` on live rooms only.\n")
	return b.String()
}

func TestOperationsDoc(t *testing.T) {
	const path = "../docs/OPERATIONS.md"
	want := renderOperations()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./groups -run TestOperationsDoc -update)", err)
	}
	if string(got) != want {
		t.Errorf("docs/OPERATIONS.md is out of date with groups/rules.go: run go test ./groups -run TestOperationsDoc -update")
	}
	for op := range rules {
		if _, ok := handlers[op]; !ok {
			t.Errorf("rule for %s, which has no handler", op)
		}
		if _, ok := emits[op]; !ok {
			t.Errorf("no emits entry for %s", op)
		}
	}
}
