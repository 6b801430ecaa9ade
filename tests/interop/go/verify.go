// Command verify is an independent verifier for the gateway's audit log, built only on
// golang.org/x/mod/sumdb/note (C2SP signed notes) and golang.org/x/mod/sumdb/tlog
// (RFC 6962 / RFC 9162 Merkle trees, proofs and hashing).
//
// It reads one JSON request (from the file named by -in, or stdin) and writes one JSON
// answer to stdout. Every check is answered "OK" or the error Go reports, so a caller can
// assert both acceptance and rejection.
//
//	{
//	  "verifier_key": "<name>+<hex>+<base64>",
//	  "notes": ["<signed checkpoint note>", ...],
//	  "leaves": ["<base64 leaf bytes>", ...],          // the log's entries, in order
//	  "roots": [<tree size>, ...],                     // tree heads to compute from leaves
//	  "inclusion": [{"index", "tree_size", "leaf", "root", "proof": [b64...]}],
//	  "consistency": [{"old_size", "tree_size", "old_root", "new_root", "proof": [b64...]}],
//	  "sign": {"signer_key": "PRIVATE+KEY+...", "text": "<note text>"}   // optional
//	}
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusionCase struct {
	Index    int64    `json:"index"`
	TreeSize int64    `json:"tree_size"`
	Leaf     string   `json:"leaf"`
	Root     string   `json:"root"`
	Proof    []string `json:"proof"`
}

type consistencyCase struct {
	OldSize  int64    `json:"old_size"`
	TreeSize int64    `json:"tree_size"`
	OldRoot  string   `json:"old_root"`
	NewRoot  string   `json:"new_root"`
	Proof    []string `json:"proof"`
}

type signCase struct {
	SignerKey string `json:"signer_key"`
	Text      string `json:"text"`
}

type request struct {
	VerifierKey string            `json:"verifier_key"`
	Notes       []string          `json:"notes"`
	Leaves      []string          `json:"leaves"`
	Roots       []int64           `json:"roots"`
	Inclusion   []inclusionCase   `json:"inclusion"`
	Consistency []consistencyCase `json:"consistency"`
	Sign        *signCase         `json:"sign"`
}

type noteResult struct {
	Result string `json:"result"`
	Origin string `json:"origin,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Root   string `json:"root,omitempty"`
}

type answer struct {
	Notes       []noteResult `json:"notes"`
	Roots       []string     `json:"roots"`
	Inclusion   []string     `json:"inclusion"`
	Consistency []string     `json:"consistency"`
	Signed      string       `json:"signed,omitempty"`
}

func decodeHash(s string) (tlog.Hash, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return tlog.Hash{}, err
	}
	if len(raw) != tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("hash is %d bytes, expected %d", len(raw), tlog.HashSize)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h, nil
}

func decodeHashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, 0, len(list))
	for _, s := range list {
		h, err := decodeHash(s)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func result(err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "OK"
}

// openCheckpoint verifies the note's signature, then parses the tlog-checkpoint body.
func openCheckpoint(msg string, verifiers note.Verifiers) noteResult {
	n, err := note.Open([]byte(msg), verifiers)
	if err != nil {
		return noteResult{Result: result(err)}
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return noteResult{Result: "error: checkpoint body has fewer than 3 lines"}
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return noteResult{Result: "error: bad tree size line " + strconv.Quote(lines[1])}
	}
	if _, err := decodeHash(lines[2]); err != nil {
		return noteResult{Result: "error: bad root hash line: " + err.Error()}
	}
	return noteResult{Result: "OK", Origin: lines[0], Size: size, Root: lines[2]}
}

// rootsFromLeaves stores the whole tree the tlog way and computes the requested heads.
func rootsFromLeaves(leaves []string, sizes []int64) ([]string, error) {
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, s := range leaves {
		data, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("leaf %d: %v", i, err)
		}
		hashes, err := tlog.StoredHashes(int64(i), data, reader)
		if err != nil {
			return nil, err
		}
		stored = append(stored, hashes...)
	}
	out := make([]string, 0, len(sizes))
	for _, n := range sizes {
		if n < 0 || n > int64(len(leaves)) {
			return nil, fmt.Errorf("root of size %d requested, only %d leaves", n, len(leaves))
		}
		h, err := tlog.TreeHash(n, reader)
		if err != nil {
			return nil, err
		}
		out = append(out, base64.StdEncoding.EncodeToString(h[:]))
	}
	return out, nil
}

func checkInclusion(c inclusionCase) error {
	data, err := base64.StdEncoding.DecodeString(c.Leaf)
	if err != nil {
		return err
	}
	root, err := decodeHash(c.Root)
	if err != nil {
		return err
	}
	proof, err := decodeHashes(c.Proof)
	if err != nil {
		return err
	}
	return tlog.CheckRecord(proof, c.TreeSize, root, c.Index, tlog.RecordHash(data))
}

func checkConsistency(c consistencyCase) error {
	oldRoot, err := decodeHash(c.OldRoot)
	if err != nil {
		return err
	}
	newRoot, err := decodeHash(c.NewRoot)
	if err != nil {
		return err
	}
	proof, err := decodeHashes(c.Proof)
	if err != nil {
		return err
	}
	return tlog.CheckTree(proof, c.TreeSize, newRoot, c.OldSize, oldRoot)
}

func run(in io.Reader, out io.Writer) error {
	var req request
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		return fmt.Errorf("reading request: %v", err)
	}
	ans := answer{Notes: []noteResult{}, Roots: []string{}, Inclusion: []string{}, Consistency: []string{}}
	if len(req.Notes) > 0 {
		v, err := note.NewVerifier(req.VerifierKey)
		if err != nil {
			return fmt.Errorf("verifier key: %v", err)
		}
		verifiers := note.VerifierList(v)
		for _, msg := range req.Notes {
			ans.Notes = append(ans.Notes, openCheckpoint(msg, verifiers))
		}
	}
	if len(req.Roots) > 0 {
		roots, err := rootsFromLeaves(req.Leaves, req.Roots)
		if err != nil {
			return err
		}
		ans.Roots = roots
	}
	for _, c := range req.Inclusion {
		ans.Inclusion = append(ans.Inclusion, result(checkInclusion(c)))
	}
	for _, c := range req.Consistency {
		ans.Consistency = append(ans.Consistency, result(checkConsistency(c)))
	}
	if req.Sign != nil {
		signer, err := note.NewSigner(req.Sign.SignerKey)
		if err != nil {
			return fmt.Errorf("signer key: %v", err)
		}
		signed, err := note.Sign(&note.Note{Text: req.Sign.Text}, signer)
		if err != nil {
			return fmt.Errorf("signing: %v", err)
		}
		ans.Signed = string(signed)
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	return enc.Encode(ans)
}

func main() {
	inPath := flag.String("in", "", "request JSON file (default: stdin)")
	flag.Parse()
	in := io.Reader(os.Stdin)
	if *inPath != "" {
		f, err := os.Open(*inPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "verify:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	}
	if err := run(in, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "verify:", err)
		os.Exit(2)
	}
}
