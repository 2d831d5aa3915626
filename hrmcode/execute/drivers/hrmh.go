// Package hrmh is the hrmcode test driver support for Go candidates (runs inside the sandbox).
// Same protocol as python_driver.py: one JSON line per event on fd 3, written per line.
package hrmh

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
)

var out = os.NewFile(3, "hrmcode-channel")

func emit(s string) { out.WriteString(s + "\n") }

func Begin(k int) { emit(`{"b":` + strconv.Itoa(k) + `}`) }
func End(k int)   { emit(`{"e":` + strconv.Itoa(k) + `}`) }

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
