// Writes sdk/vectors/patterns.json, the language-neutral pattern conformance file of SPEC.md
// section 5, from the cases in pattern_corpus.txt, with every verdict and every group 1 taken
// from Go's own regexp package (the behaviour the spec restates), not from another engine.
//
//	go run sdk/reference/pattern_conformance.go            # rewrite sdk/vectors/patterns.json
//	go run sdk/reference/pattern_conformance.go --check    # fail if the file is not what Go gives
//
// Run from the repository root. The spec accepts a subset of Go's syntax, so the corpus names the
// spec's reason code for each pattern the spec refuses; the generator fails when:
//   - the corpus says a pattern is accepted and Go refuses it (the spec would be wider than Go);
//   - the corpus says the spec refuses a pattern that Go accepts, without saying why;
//   - a pattern with flag i uses a non-ASCII character (the spec's one deliberate difference from
//     Go, section 5.4.3) and an input's expected result is not written out in the corpus.
//
// Corpus lines (tab-separated; bytes outside printable ASCII, and '%', written %XX):
//
//	accept  PATTERN  INPUT...          each INPUT optionally INPUT=>EXPECTED (spec result, when
//	                                   it differs from Go's: none, nogroup or START-END)
//	refuse  CODE     PATTERN  [WHY]    WHY is required when Go accepts the pattern
//	random  SEED     PATTERNS INPUTS   PATTERNS random patterns of the spec's subset (ASCII only, so
//	                                   case folding equals Go's), INPUTS random inputs each
//	# comment
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"
)

const corpusPath = "sdk/reference/pattern_corpus.txt"
const outputPath = "sdk/vectors/patterns.json"

type testCase struct {
	Input    *string     `json:"input,omitempty"`
	InputHex *string     `json:"input_hex,omitempty"`
	Expect   interface{} `json:"expect"`
	Go       interface{} `json:"go,omitempty"`
	Why      string      `json:"why,omitempty"`
}

type entry struct {
	Pattern string     `json:"pattern"`
	Accept  bool       `json:"accept"`
	Code    string     `json:"code,omitempty"`
	Go      string     `json:"go,omitempty"`
	Why     string     `json:"why,omitempty"`
	Cases   []testCase `json:"cases,omitempty"`
}

type document struct {
	Version   int     `json:"version"`
	Spec      string  `json:"spec"`
	Generator string  `json:"generator"`
	GoVersion string  `json:"go_version"`
	Format    string  `json:"format"`
	Patterns  []entry `json:"patterns"`
}

func unescape(field string) []byte {
	var out []byte
	for i := 0; i < len(field); i++ {
		if field[i] == '%' && i+2 < len(field) {
			if b, err := hex.DecodeString(field[i+1 : i+3]); err == nil {
				out = append(out, b[0])
				i += 2
				continue
			}
		}
		out = append(out, field[i])
	}
	return out
}

// goSpelling is the pattern as Go 1.19 must be given it: `(?<name>` is the spec's (and Go
// 1.22's) spelling of `(?P<name>`, which older Go does not know.
func goSpelling(pattern string) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == '\\' && i+1 < len(pattern) {
			b.WriteString(pattern[i : i+2])
			i++
			continue
		}
		if strings.HasPrefix(pattern[i:], "(?<") && !strings.HasPrefix(pattern[i:], "(?<=") && !strings.HasPrefix(pattern[i:], "(?<!") {
			b.WriteString("(?P<")
			i += 2
			continue
		}
		b.WriteByte(pattern[i])
	}
	return b.String()
}

var caseInsensitive = regexp.MustCompile(`\(\?[is]*i`)

// foldingMayDiffer: under flag i, Go folds every Unicode letter, the spec only ASCII letters.
func foldingMayDiffer(pattern string) bool {
	if !caseInsensitive.MatchString(pattern) {
		return false
	}
	for _, r := range pattern {
		if r >= 0x80 {
			return true
		}
	}
	return strings.Contains(pattern, `\x`)
}

func result(re *regexp.Regexp, input []byte) interface{} {
	m := re.FindSubmatchIndex(input)
	if m == nil {
		return "no_match"
	}
	if m[2] < 0 {
		return "no_group"
	}
	return []int{m[2], m[3]}
}

// randomPatterns draws patterns from the spec's subset: literals, classes, anchors, groups,
// alternation, greedy and lazy repetition (never stacked), scoped flags; always a group 1.
type randomPatterns struct{ r *rand.Rand }

func (g randomPatterns) pick(options ...string) string { return options[g.r.Intn(len(options))] }

func (g randomPatterns) atom(depth int) string {
	switch n := g.r.Intn(14); {
	case n < 5:
		return g.pick("a", "b", "/", "-", "\\.", "1", "k", "s")
	case n < 8:
		return g.pick("[a-c]", "[^/]", "[ab/]", "\\d", "\\w", "\\W", ".", "[[:alpha:]]", "[^a]", "\\s")
	case n < 9:
		return g.pick("^", "$", "\\A", "\\z")
	case depth > 1:
		return "a"
	default:
		body := g.alternation(depth + 1)
		return g.pick("(", "(?:", "(?i:", "(?s:", "(") + body + ")"
	}
}

func (g randomPatterns) quantified(depth int) string {
	atom := g.atom(depth)
	if g.r.Intn(3) > 0 {
		return atom
	}
	quantifier := g.pick("*", "+", "?", "{2}", "{0,2}", "{1,}", "{0}", "{1,3}")
	if g.r.Intn(3) == 0 {
		quantifier += "?"
	}
	return atom + quantifier
}

func (g randomPatterns) concatenation(depth int) string {
	var b strings.Builder
	for n := g.r.Intn(3); n >= 0; n-- {
		b.WriteString(g.quantified(depth))
	}
	return b.String()
}

func (g randomPatterns) alternation(depth int) string {
	branches := []string{g.concatenation(depth)}
	for g.r.Intn(3) == 0 {
		branches = append(branches, g.concatenation(depth))
	}
	return strings.Join(branches, "|")
}

func (g randomPatterns) pattern() string {
	prefix, suffix := "", ""
	if g.r.Intn(2) == 0 {
		prefix = g.quantified(1)
	}
	if g.r.Intn(6) == 0 {
		prefix = "(?i)" + prefix
	}
	if g.r.Intn(2) == 0 {
		suffix = g.quantified(1)
	}
	return prefix + "(" + g.alternation(1) + ")" + suffix
}

// input draws mostly from the characters the pattern names, so that many inputs match.
func (g randomPatterns) input(pattern string) []byte {
	common := []string{"a", "b", "/", "1", "k", "s", "-", ".", "aa", "ab"}
	for _, c := range pattern {
		if strings.ContainsRune("ab/1ks-.", c) {
			common = append(common, string(c), string(c))
		}
	}
	rare := []string{"K", "S", "A", "\n", " ", "é", "\u212a", "\u017f", "\xff", "\xe2\x82"}
	var b []byte
	for n := g.r.Intn(8); n > 0; n-- {
		if g.r.Intn(6) == 0 {
			b = append(b, g.pick(rare...)...)
		} else {
			b = append(b, g.pick(common...)...)
		}
	}
	return b
}

func parseExpected(text string) (interface{}, error) {
	switch text {
	case "none":
		return "no_match", nil
	case "nogroup":
		return "no_group", nil
	}
	parts := strings.SplitN(text, "-", 2)
	if len(parts) == 2 {
		s, e1 := strconv.Atoi(parts[0])
		e, e2 := strconv.Atoi(parts[1])
		if e1 == nil && e2 == nil {
			return []int{s, e}, nil
		}
	}
	return nil, fmt.Errorf("bad expected result %q", text)
}

func sameResult(a, b interface{}) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func generate() ([]byte, error) {
	file, err := os.Open(corpusPath)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	doc := document{
		Version:   1,
		Spec:      "sdk/SPEC.md section 5",
		Generator: "sdk/reference/pattern_conformance.go (corpus: sdk/reference/pattern_corpus.txt)",
		GoVersion: runtime.Version(),
		Format: "accept: the spec accepts the pattern; then each case gives an input (input: UTF-8 text, or input_hex: " +
			"bytes that are not valid UTF-8) and expect: [start, end] byte offsets of group 1, \"no_group\" " +
			"(matched, group 1 took no part) or \"no_match\". A case with go and why is one where the spec " +
			"deliberately differs from Go (section 5.4.3). A refused pattern has code (section 5.2.3) and go: " +
			"Go's own error, or \"accepted\" with why the spec refuses what Go accepts.",
	}
	seen := map[string]bool{}
	scanner := bufio.NewScanner(file)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	line := 0
	for scanner.Scan() {
		line++
		text := scanner.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		where := fmt.Sprintf("%s:%d", corpusPath, line)
		switch fields[0] {
		case "accept":
			if len(fields) < 2 {
				return nil, fmt.Errorf("%s: accept needs a pattern", where)
			}
			pattern := string(unescape(fields[1]))
			if seen[pattern] {
				return nil, fmt.Errorf("%s: pattern %q listed twice (give all its inputs on one line)", where, pattern)
			}
			seen[pattern] = true
			re, err := regexp.Compile(goSpelling(pattern))
			if err != nil {
				return nil, fmt.Errorf("%s: the corpus accepts %q but Go refuses it: %v", where, pattern, err)
			}
			e := entry{Pattern: pattern, Accept: true}
			differs := foldingMayDiffer(pattern)
			for _, field := range fields[2:] {
				inputField, override := field, ""
				if i := strings.Index(field, "=>"); i >= 0 {
					inputField, override = field[:i], field[i+2:]
				}
				input := unescape(inputField)
				c := testCase{}
				if utf8.Valid(input) {
					s := string(input)
					c.Input = &s
				} else {
					h := hex.EncodeToString(input)
					c.InputHex = &h
				}
				goResult := result(re, input)
				c.Expect = goResult
				if override != "" {
					spec, err := parseExpected(override)
					if err != nil {
						return nil, fmt.Errorf("%s: %v", where, err)
					}
					if !sameResult(spec, goResult) {
						c.Expect = spec
						c.Go = goResult
						c.Why = "under flag i the spec folds only ASCII letters (and U+017F, U+212A); Go folds every Unicode letter"
					}
				} else if differs {
					return nil, fmt.Errorf("%s: %q folds non-ASCII characters under flag i; write each input's spec result (INPUT=>RESULT)", where, pattern)
				}
				e.Cases = append(e.Cases, c)
			}
			doc.Patterns = append(doc.Patterns, e)
		case "refuse":
			if len(fields) < 3 {
				return nil, fmt.Errorf("%s: refuse needs a code and a pattern", where)
			}
			pattern := string(unescape(fields[2]))
			if seen[pattern] {
				return nil, fmt.Errorf("%s: pattern %q listed twice", where, pattern)
			}
			seen[pattern] = true
			e := entry{Pattern: pattern, Accept: false, Code: fields[1]}
			if len(fields) > 3 {
				e.Why = fields[3]
			}
			if _, err := regexp.Compile(goSpelling(pattern)); err != nil {
				e.Go = err.Error()
				if e.Why != "" {
					return nil, fmt.Errorf("%s: Go refuses %q too (%v); a why is only for patterns Go accepts", where, pattern, err)
				}
			} else {
				e.Go = "accepted"
				if e.Why == "" {
					return nil, fmt.Errorf("%s: Go accepts %q, which the spec refuses (%s); say why", where, pattern, e.Code)
				}
			}
			doc.Patterns = append(doc.Patterns, e)
		case "random":
			if len(fields) != 4 {
				return nil, fmt.Errorf("%s: random needs a seed, a pattern count and an input count", where)
			}
			seed, e1 := strconv.ParseInt(fields[1], 10, 64)
			patterns, e2 := strconv.Atoi(fields[2])
			inputs, e3 := strconv.Atoi(fields[3])
			if e1 != nil || e2 != nil || e3 != nil {
				return nil, fmt.Errorf("%s: random takes three integers", where)
			}
			generator := randomPatterns{rand.New(rand.NewSource(seed))}
			for added := 0; added < patterns; {
				pattern := generator.pattern()
				if seen[pattern] {
					continue
				}
				re, err := regexp.Compile(pattern)
				if err != nil {
					return nil, fmt.Errorf("%s: Go refuses the generated pattern %q: %v", where, pattern, err)
				}
				seen[pattern] = true
				added++
				e := entry{Pattern: pattern, Accept: true}
				for i := 0; i < inputs; i++ {
					input := generator.input(pattern)
					c := testCase{Expect: result(re, input)}
					if utf8.Valid(input) {
						text := string(input)
						c.Input = &text
					} else {
						h := hex.EncodeToString(input)
						c.InputHex = &h
					}
					e.Cases = append(e.Cases, c)
				}
				doc.Patterns = append(doc.Patterns, e)
			}
		default:
			return nil, fmt.Errorf("%s: unknown line kind %q", where, fields[0])
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	encoder := json.NewEncoder(&out)
	encoder.SetEscapeHTML(false)
	encoder.SetIndent("", " ")
	if err := encoder.Encode(doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func main() {
	check := len(os.Args) > 1 && os.Args[1] == "--check"
	generated, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pattern_conformance:", err)
		os.Exit(1)
	}
	if check {
		committed, err := os.ReadFile(outputPath)
		if err != nil || !bytes.Equal(committed, generated) {
			fmt.Fprintf(os.Stderr, "pattern_conformance: %s is not what Go gives for the corpus; run go run %s\n", outputPath, "sdk/reference/pattern_conformance.go")
			os.Exit(1)
		}
		fmt.Println("pattern_conformance: ok")
		return
	}
	if err := os.WriteFile(outputPath, generated, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "pattern_conformance:", err)
		os.Exit(1)
	}
}
