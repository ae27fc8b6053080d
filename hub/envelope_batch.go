package hub

import (
	"encoding/binary"
	"fmt"
)

// A request's envelopes often share a channel (a join's subscription and
// its tip both go to the joiner's user channel, a quit's tip,
// unsubscription and notice too), and every PUBLISH costs Redis a
// command and every listening node a read. Envelopes of one Publish for
// the same channel therefore travel as one message, a batch:
//
//	0xCE 0x02                    magic, batch format
//	count                        uvarint, at least 2
//	count × (length, envelope)   uvarint length + an envelope in format 1
//
// A node reads both forms; a node that reads only format 1 drops batches
// (with a warning), so a cluster's nodes are upgraded together.
const envBatchVersion = 0x02

// maxBatchEnvelopes bounds a decoded batch's count.
const maxBatchEnvelopes = 1 << 16

// appendBatch appends the batch of the encoded envelopes encs (format 1).
func appendBatch(b []byte, encs ...[]byte) []byte {
	b = append(b, envMagic, envBatchVersion)
	b = binary.AppendUvarint(b, uint64(len(encs)))
	for _, e := range encs {
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b
}

// isBatch reports whether payload is in the batch form.
func isBatch(payload string) bool {
	return len(payload) >= 2 && payload[0] == envMagic && payload[1] == envBatchVersion
}

// batchParts calls f with each envelope of a batch (sharing payload's
// memory) until f returns false; false if payload is no batch or a
// malformed one.
func batchParts(payload string, f func(env string) bool) bool {
	if !isBatch(payload) {
		return false
	}
	rest := payload[2:]
	n, k := uvarintString(rest)
	if k <= 0 || n < 1 || n > maxBatchEnvelopes {
		return false
	}
	rest = rest[k:]
	for range n {
		size, k := uvarintString(rest)
		if k <= 0 || size > uint64(len(rest)-k) {
			return false
		}
		if !f(rest[k : k+int(size)]) {
			return true
		}
		rest = rest[k+int(size):]
	}
	return len(rest) == 0
}

// allSeen reports whether seen knows the ID of every envelope in a batch
// (this node's own, echoed): it need not be decoded. Only all: the same
// envelope may reach a node in batches of two channels with different
// companions.
func allSeen(payload string, seen func(id string) bool) bool {
	all := true
	ok := batchParts(payload, func(env string) bool {
		id, ok := envelopeID(env)
		all = ok && seen(id)
		return all
	})
	return ok && all
}

// DecodeEnvelopes reads a payload in any wire form: one envelope (either
// form DecodeEnvelope reads) or a batch. The RawMessage fields of the
// result do not alias b.
func DecodeEnvelopes(b []byte) ([]*Envelope, error) { return decodePayload(string(b)) }

// decodePayload is DecodeEnvelopes of a message as Redis hands it over.
func decodePayload(payload string) ([]*Envelope, error) {
	if !isBatch(payload) {
		env, err := DecodeEnvelope([]byte(payload))
		if err != nil {
			return nil, err
		}
		return []*Envelope{env}, nil
	}
	var envs []*Envelope
	var derr error
	ok := batchParts(payload, func(part string) bool {
		env, err := DecodeEnvelope([]byte(part))
		if err != nil {
			derr = err
			return false
		}
		envs = append(envs, env)
		return true
	})
	if derr != nil {
		return nil, fmt.Errorf("malformed batch: %w", derr)
	}
	if !ok || len(envs) == 0 {
		return nil, fmt.Errorf("malformed batch: %w", errEnvelope)
	}
	return envs, nil
}
