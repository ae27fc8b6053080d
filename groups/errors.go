package groups

import (
	"errors"
	"fmt"
)

// The error codes of SPEC.md §7. Only the server maps them to the wire.
const (
	CodeNotLoggedIn        = 2024
	CodeWorkJoin           = 2601
	CodeLiveChangeOwner    = 2620
	CodeChangeOwnerSelf    = 2621
	CodeDismissWork        = 2622
	CodeNotMember          = 2623
	CodeLiveAddMember      = 2661
	CodeAnonNotLive        = 2662
	CodeLiveKick           = 2680
	CodeRoleNotOwner       = 2681
	CodeRoleType           = 2682
	CodeRoleInvalid        = 2683
	CodeRoleSelf           = 2684
	CodeMuteSelf           = 2685
	CodeInternal           = 10002
	CodeUnknownOp          = 10003
	CodeInvalidParam       = 10004
	CodeTooManyRequests    = 10006
	CodeNoPermission       = 10007
	CodeOwnerCannotQuit    = 10009
	CodeGroupNotFound      = 10010
	CodeInvalidJSON        = 10011
	CodeGroupFull          = 10014
	CodeInvalidGroupID     = 10015
	CodeMuted              = 10017
	CodeGroupIDTaken       = 10021
	CodeGroupRateLimited   = 10023
	CodeApplicationHandled = 10024
	CodeGroupIDOwned       = 10025
	CodeTooManyGroups      = 10037
	CodeTokenExpired       = 70001
	CodeTokenInvalid       = 70003
)

// Error is a domain error carrying a SPEC.md §7 code and a human-readable
// message naming the field or rule.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, 0 for nil and
// CodeInternal for any other error (a store failure, a bug).
func CodeOf(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Store-level sentinel errors. ErrConflict is retried by the Service and
// never reaches a client.
var (
	// ErrConflict means the group changed since it was read (optimistic
	// concurrency): the operation is retried on fresh state.
	ErrConflict = errors.New("group changed concurrently")
	// ErrNotFound means the group does not exist.
	ErrNotFound = Errorf(CodeGroupNotFound, "group does not exist")
	// ErrExists means a group with that ID exists already.
	ErrExists = errors.New("group exists")
	// ErrTooManyGroups means a user is at the group limit.
	ErrTooManyGroups = errors.New("user is in too many groups")
)

func errParam(format string, args ...any) *Error {
	return Errorf(CodeInvalidParam, format, args...)
}

func errNoPermission(format string, args ...any) *Error {
	return Errorf(CodeNoPermission, format, args...)
}
