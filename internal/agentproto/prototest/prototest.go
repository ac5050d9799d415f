// Package prototest helps test the agent protocol's types and the
// conversions between them and other types: it fills values completely and
// finds the fields a value leaves unset, so that a field one side gains and
// a conversion forgets makes a test fail.
package prototest

import (
	"fmt"
	"reflect"
	"slices"
	"time"
)

// ecsShapes is the package of the ECS API shapes (ecstypes), which the
// protocol carries as they are.
const ecsShapes = "github.com/berth/berth/internal/ecs/ecstypes"

// Fill sets every field reachable from the pointer v to a value that is not
// its zero value and, among fields of one kind, distinct: strings, numbers
// and times count up; pointers, slices (one element) and maps (one entry)
// are made and filled. A struct type that contains itself is filled once,
// its inner occurrence left empty. Times are whole seconds in UTC, so that
// every encoding keeps them exactly.
func Fill(v any) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf("prototest.Fill: want a non-nil pointer, got %T", v))
	}
	f := filler{}
	f.fill(rv.Elem(), nil)
}

type filler struct{ n int }

func (f *filler) next() int { f.n++; return f.n }

func (f *filler) fill(v reflect.Value, outer []reflect.Type) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2025, 1, 1, 0, 0, f.next(), 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", f.next()))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.next()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.next()))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.next()) + 0.5)
	case reflect.Pointer:
		if slices.Contains(outer, v.Type().Elem()) {
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), outer)
		v.Set(p)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(`"raw"`)) // valid as raw JSON too
			return
		}
		if slices.Contains(outer, v.Type().Elem()) {
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		f.fill(s.Index(0), outer)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMapWithSize(v.Type(), 1)
		key, val := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		f.fill(key, outer)
		f.fill(val, outer)
		m.SetMapIndex(key, val)
		v.Set(m)
	case reflect.Struct:
		outer = append(outer, v.Type())
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() || v.Type().Field(i).Anonymous {
				f.fill(v.Field(i), outer)
			}
		}
	default:
		panic(fmt.Sprintf("prototest.Fill: cannot fill a %s", v.Type()))
	}
}

// Unset lists the fields reachable from v, as paths from v's type name,
// that hold their zero value (a slice: no element). An ECS API shape counts
// as one field, set when anything in it is: it is AWS's schema, carried
// whole. An embedded struct's fields are named without it.
func Unset(v any) []string {
	rv := reflect.ValueOf(v)
	return unset(rv, rv.Type().Name())
}

func unset(v reflect.Value, path string) []string {
	if v.Type().PkgPath() == ecsShapes || v.Type() == reflect.TypeFor[time.Time]() {
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path}
		}
		return unset(v.Elem(), path)
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name := path + "." + f.Name
			if f.Anonymous {
				name = path
			}
			out = append(out, unset(v.Field(i), name)...)
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path}
		}
		var out []string
		for i := range v.Len() {
			out = append(out, unset(v.Index(i), path+"[]")...)
		}
		return out
	default:
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
}
