package groups

import "strings"

// The limits of SPEC.md §2, in UTF-8 bytes unless noted.
const (
	MaxNameBytes         = 30
	MaxIntroBytes        = 240
	MaxNotificationBytes = 300
	MaxGroupAvatarBytes  = 100
	MaxGroupIDBytes      = 48
	MaxUserIDBytes       = 32
	MaxMessageIDBytes    = 128
	MaxNickBytes         = 64
	MaxProfileAvatar     = 500
	MaxNameCardBytes     = 50
	MaxCustomKeyBytes    = 16
	MaxCustomValueBytes  = 512
	MaxCustomKeys        = 16
	MaxCreateMembers     = 500
	MaxAddMembers        = 300
	MaxDeleteMembers     = 100
	MaxMuteTime          = 4294967295
	MaxMemberNumLimit    = 6000
	MaxMessageBodyBytes  = 12288
	MaxNoteBytes         = 300 // applyMessage, handleMessage, reason
	DefaultMemberCount   = 15
	MaxMemberCount       = 100
	MaxProfileUsers      = 50

	generatedIDPrefix = "@TGS#"
)

// printableASCII reports whether s is 1..max bytes of 0x21–0x7e.
func printableASCII(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ValidUserID reports whether id satisfies the userID rule of SPEC.md §2.
func ValidUserID(id string) bool { return printableASCII(id, MaxUserIDBytes) }

// checkUserID gives 10004 naming field when id breaks the userID rule.
func checkUserID(field, id string) error {
	if !ValidUserID(id) {
		return errParam("%s: a userID is 1..%d bytes of printable ASCII, got %q", field, MaxUserIDBytes, id)
	}
	return nil
}

// checkUserIDs checks a list of user IDs against the rule and a size range.
func checkUserIDs(field string, ids []string, min, max int) error {
	if len(ids) < min || len(ids) > max {
		return errParam("%s: %d..%d user IDs allowed, got %d", field, min, max, len(ids))
	}
	for _, id := range ids {
		if err := checkUserID(field, id); err != nil {
			return err
		}
	}
	return nil
}

// checkGroupIDRef checks a groupID naming an existing group: any ID a
// group could have (custom or generated).
func checkGroupIDRef(id string) error {
	if !printableASCII(id, MaxGroupIDBytes) {
		return errParam("groupID: required, 1..%d bytes of printable ASCII", MaxGroupIDBytes)
	}
	return nil
}

// checkCustomGroupID is the custom-ID rule at createGroup (10015).
func checkCustomGroupID(id string) error {
	if !printableASCII(id, MaxGroupIDBytes) {
		return Errorf(CodeInvalidGroupID, "groupID: a custom group ID is 1..%d bytes of printable ASCII", MaxGroupIDBytes)
	}
	if strings.HasPrefix(id, generatedIDPrefix) {
		return Errorf(CodeInvalidGroupID, "groupID: a custom group ID must not start with %s", generatedIDPrefix)
	}
	return nil
}

// checkLen gives 10004 when s is longer than max bytes.
func checkLen(field, s string, max int) error {
	if len(s) > max {
		return errParam("%s: at most %d bytes, got %d", field, max, len(s))
	}
	return nil
}

// KV is a custom field entry, as on the wire.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// checkCustom checks a custom-field list: key 1..16 bytes, value ≤ 512.
// The 16-key limit is checked on the merged result by mergeCustom.
func checkCustom(field string, kvs []KV) error {
	for _, kv := range kvs {
		if len(kv.Key) == 0 || len(kv.Key) > MaxCustomKeyBytes {
			return errParam("%s: key must be 1..%d bytes, got %q", field, MaxCustomKeyBytes, kv.Key)
		}
		if err := checkLen(field+"["+kv.Key+"]", kv.Value, MaxCustomValueBytes); err != nil {
			return err
		}
	}
	if len(kvs) > MaxCustomKeys {
		return errParam("%s: at most %d keys, got %d", field, MaxCustomKeys, len(kvs))
	}
	return nil
}

// mergeCustom merges kvs into a copy of base by key; an empty value deletes
// the key. It reports whether anything changed and enforces the key limit.
func mergeCustom(field string, base map[string]string, kvs []KV) (map[string]string, bool, error) {
	out := make(map[string]string, len(base)+len(kvs))
	for k, v := range base {
		out[k] = v
	}
	changed := false
	for _, kv := range kvs {
		old, had := out[kv.Key]
		switch {
		case kv.Value == "" && had:
			delete(out, kv.Key)
			changed = true
		case kv.Value != "" && (!had || old != kv.Value):
			out[kv.Key] = kv.Value
			changed = true
		}
	}
	if len(out) > MaxCustomKeys {
		return nil, false, errParam("%s: at most %d keys after the merge, got %d", field, MaxCustomKeys, len(out))
	}
	if len(out) == 0 {
		out = nil
	}
	return out, changed, nil
}
