package hub

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// The wire form of an Envelope between nodes. JSON cost a third of a
// node's CPU on the store path (its RawMessage fields are re-validated and
// compacted on every encode, and decoded through a reflecting Decoder on
// every receipt), so envelopes travel in a small binary form instead:
//
//	0xCE 0x01                    magic, format version
//	flags                        1 byte: ToGroup 1, Chat 2, Discard 4, Gather 8
//	kind                         1 byte
//	seq, session                 uvarints
//	ID, GroupID, From, Node      uvarint length + bytes each
//	In, Out, Notice              uvarint length + bytes each (JSON, as given)
//	len(UserIDs), UserIDs        uvarint count, then length + bytes each
//
// A payload that starts with '{' is the JSON form of earlier nodes and is
// still read, so nodes can be upgraded one at a time.
const (
	envMagic   = 0xCE
	envVersion = 0x01

	flagToGroup = 1
	flagChat    = 2
	flagDiscard = 4
	flagGather  = 8
)

// maxEnvelopeField bounds one decoded field: Redis pub/sub payloads are
// ours, but a corrupt one must not allocate without limit.
const maxEnvelopeField = 64 << 20

// AppendEnvelope appends the wire form of env to b.
func AppendEnvelope(b []byte, env *Envelope) []byte {
	var flags byte
	if env.ToGroup {
		flags |= flagToGroup
	}
	if env.Chat {
		flags |= flagChat
	}
	if env.Discard {
		flags |= flagDiscard
	}
	if env.Gather {
		flags |= flagGather
	}
	b = append(b, envMagic, envVersion, flags, byte(env.Kind))
	b = binary.AppendUvarint(b, env.Seq)
	b = binary.AppendUvarint(b, env.Session)
	for _, s := range [...]string{env.ID, env.GroupID, env.From, env.Node} {
		b = appendString(b, s)
	}
	for _, raw := range [...]json.RawMessage{env.In, env.Out, env.Notice} {
		b = binary.AppendUvarint(b, uint64(len(raw)))
		b = append(b, raw...)
	}
	b = binary.AppendUvarint(b, uint64(len(env.UserIDs)))
	for _, u := range env.UserIDs {
		b = appendString(b, u)
	}
	return b
}

// EncodedEnvelopeSize is an upper bound of AppendEnvelope's output, for
// sizing a buffer.
func EncodedEnvelopeSize(env *Envelope) int {
	n := 4 + 2*binary.MaxVarintLen64 + 8*binary.MaxVarintLen64
	n += len(env.ID) + len(env.GroupID) + len(env.From) + len(env.Node)
	n += len(env.In) + len(env.Out) + len(env.Notice)
	for _, u := range env.UserIDs {
		n += binary.MaxVarintLen64 + len(u)
	}
	return n
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errEnvelope = errors.New("malformed envelope")

// DecodeEnvelope reads an envelope in either wire form. The RawMessage
// fields of the result alias b.
func DecodeEnvelope(b []byte) (*Envelope, error) {
	if len(b) > 0 && b[0] == '{' {
		var env Envelope
		if err := json.Unmarshal(b, &env); err != nil {
			return nil, fmt.Errorf("malformed envelope: %w", err)
		}
		return &env, nil
	}
	if len(b) < 4 || b[0] != envMagic {
		return nil, errEnvelope
	}
	if b[1] != envVersion {
		return nil, fmt.Errorf("envelope format %d: this node reads format %d", b[1], envVersion)
	}
	d := envDecoder{b: b[4:]}
	env := &Envelope{Kind: Kind(b[3]), ToGroup: b[2]&flagToGroup != 0,
		Chat: b[2]&flagChat != 0, Discard: b[2]&flagDiscard != 0, Gather: b[2]&flagGather != 0}
	env.Seq = d.uvarint()
	env.Session = d.uvarint()
	env.ID = string(d.bytes())
	env.GroupID = string(d.bytes())
	env.From = string(d.bytes())
	env.Node = string(d.bytes())
	env.In = d.raw()
	env.Out = d.raw()
	env.Notice = d.raw()
	if n := d.uvarint(); n > 0 {
		if n > uint64(len(d.b)) { // every ID takes at least its length byte
			return nil, errEnvelope
		}
		env.UserIDs = make([]string, n)
		for i := range env.UserIDs {
			env.UserIDs[i] = string(d.bytes())
		}
	}
	if d.err || len(d.b) != 0 {
		return nil, errEnvelope
	}
	return env, nil
}

// envelopeID reads the ID of an envelope in the binary form without
// decoding the rest or allocating (the result shares payload's memory);
// false for the JSON form or a malformed header.
func envelopeID(payload string) (string, bool) {
	if len(payload) < 4 || payload[0] != envMagic || payload[1] != envVersion {
		return "", false
	}
	rest := payload[4:]
	var n uint64
	for range 3 { // seq, session, then the ID's length
		var k int
		if n, k = uvarintString(rest); k <= 0 {
			return "", false
		}
		rest = rest[k:]
	}
	if n > uint64(len(rest)) {
		return "", false
	}
	return rest[:n], true
}

// uvarintString is binary.Uvarint on a string.
func uvarintString(s string) (uint64, int) {
	var x uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -1 // overflow
			}
			return x | uint64(c)<<(7*i), i + 1
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	return 0, 0
}

// envDecoder reads the fields of the binary form; a short or oversized
// field sets err and yields zero values from then on.
type envDecoder struct {
	b   []byte
	err bool
}

func (d *envDecoder) uvarint() uint64 {
	if d.err {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *envDecoder) bytes() []byte {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) || n > maxEnvelopeField {
		d.err = true
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

// raw is a JSON field: nil when empty, as the JSON form leaves it.
func (d *envDecoder) raw() json.RawMessage {
	b := d.bytes()
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}
