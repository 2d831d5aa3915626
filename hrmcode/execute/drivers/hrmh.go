// Package hrmh is the hrmcode test driver support for Go candidates (runs inside the sandbox).
// Same protocol as python_driver.py: one "token JSON" line per event on fd 3, written per line.
package hrmh

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
)

var out = os.NewFile(3, "hrmcode-channel")

// Each candidate's token and the running one's. Read from stdin while this package initializes:
// every candidate's package imports it, so before any candidate's init or variables.
var tokens = readTokens()
var token = "-"

func readTokens() map[int]string {
	m := map[int]string{}
	if in, err := io.ReadAll(os.Stdin); err == nil {
		for _, line := range strings.Split(string(in), "\n") {
			if f := strings.Fields(line); len(f) == 2 {
				if key, err := strconv.Atoi(f[0]); err == nil {
					m[key] = f[1]
				}
			}
		}
	}
	return m
}

func emit(s string) { out.WriteString(token + " " + s + "\n") }

func Begin(k int) {
	token = "-"
	if t, ok := tokens[k]; ok {
		token = t
	}
	// The supervisor (hrmsup.py) wrote the begin line before it started this process.
}

func End(k int) { emit(`{"e":` + strconv.Itoa(k) + `}`) }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func head(k, t int, s string) string {
	return `{"k":` + strconv.Itoa(k) + `,"t":` + strconv.Itoa(t) + `,"s":"` + s + `"`
}

// put writes v as canonical JSON; a nil slice is an empty list (Go's idiom), not null.
func put(sb *strings.Builder, v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		sb.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		sb.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Bool:
		sb.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.String:
		sb.WriteString(quote(v.String()))
	case reflect.Slice, reflect.Array:
		sb.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				sb.WriteByte(',')
			}
			if !put(sb, v.Index(i)) {
				return false
			}
		}
		sb.WriteByte(']')
	default:
		return false
	}
	return true
}

func Test(k, t int, f func() any) {
	var v any
	failed := func() (failed bool) {
		defer func() {
			if r := recover(); r != nil {
				emit(head(k, t, "err") + `,"m":` + quote(trim(fmt.Sprint(r))) + `}`)
				failed = true
			}
		}()
		v = f()
		return false
	}()
	if failed {
		return
	}
	var sb strings.Builder
	if !put(&sb, reflect.ValueOf(v)) {
		emit(head(k, t, "bad") + `,"m":` + quote(trim(fmt.Sprintf("%#v", v))) + `}`)
		return
	}
	emit(head(k, t, "ok") + `,"v":` + sb.String() + `}`)
}

func trim(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}

// ---- test inputs (hrmtests.txt, see hrmcode/execute/units.py for the format) --------------------

var sections = map[int]*In{}

// Load reads every candidate's inputs before main starts any candidate; without them no verdict
// can be right, so a missing file ends the run before anyone starts (the harness then isolates
// every candidate).
func Load() {
	d, err := os.ReadFile("hrmtests.txt")
	if err != nil {
		os.Stderr.WriteString("hrmcode driver: cannot read hrmtests.txt: " + err.Error() + "\n")
		os.Exit(3)
	}
	for pos := 0; pos < len(d) && d[pos] == '#'; {
		nl := pos
		for nl < len(d) && d[nl] != '\n' {
			nl++
		}
		head := strings.Fields(string(d[pos+1 : nl]))
		if len(head) != 2 {
			break
		}
		key, _ := strconv.Atoi(head[0])
		n, _ := strconv.Atoi(head[1])
		start := min(nl+1, len(d))
		end := min(start+n, len(d))
		sections[key] = &In{d: d[start:end]}
		pos = end + 1
	}
}

// Section is candidate k's inputs (empty when the file has none for it).
func Section(k int) *In {
	if in, ok := sections[k]; ok {
		return in
	}
	return &In{}
}

// In is a cursor over one candidate's inputs.
type In struct {
	d []byte
	p int
}

func (in *In) ws() {
	for in.p < len(in.d) && (in.d[in.p] == ' ' || in.d[in.p] == '\n') {
		in.p++
	}
}

func (in *In) Int() int64 {
	in.ws()
	neg := in.p < len(in.d) && in.d[in.p] == '-'
	if neg {
		in.p++
	}
	var v uint64
	for in.p < len(in.d) && in.d[in.p] >= '0' && in.d[in.p] <= '9' {
		v = v*10 + uint64(in.d[in.p]-'0')
		in.p++
	}
	if neg {
		v = -v // two's complement: math.MinInt64 round-trips
	}
	return int64(v)
}

func (in *In) Count() int { return int(max(in.Int(), 0)) }

func (in *In) Bool() bool { return in.Int() != 0 }

func (in *In) Str() string {
	n := in.Count()
	if in.p < len(in.d) {
		in.p++ // the ':' before the raw bytes
	}
	end := min(in.p+n, len(in.d))
	s := string(in.d[in.p:end])
	in.p = end
	return s
}

func (in *In) Ints() []int64 {
	v := make([]int64, in.Count())
	for i := range v {
		v[i] = in.Int()
	}
	return v
}

func (in *In) Bools() []bool {
	v := make([]bool, in.Count())
	for i := range v {
		v[i] = in.Bool()
	}
	return v
}

func (in *In) Strs() []string {
	v := make([]string, in.Count())
	for i := range v {
		v[i] = in.Str()
	}
	return v
}

// Number is every type an untyped integer constant (the old literal arguments) converts to.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr |
		~float32 | ~float64
}

// Num converts an argument to the candidate's parameter type; a value that does not fit fails the
// test, as an overflowing constant failed the build.
func Num[T Number](v int64) T {
	t := T(v)
	if int64(t) != v || (t < 0) != (v < 0) {
		panic("argument " + strconv.FormatInt(v, 10) + " does not fit the parameter's type")
	}
	return t
}

// IntList converts a list argument to the candidate's []int (or a named type over it), as the old
// []int literal was.
func IntList[T ~[]int](v []int64) T {
	out := make(T, len(v))
	for i, x := range v {
		out[i] = Num[int](x)
	}
	return out
}
